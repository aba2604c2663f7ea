/**
 * LOG_FORMAT=json: one JSON object per line, with the fields object of a log call as
 * top-level keys — `logger.warn("Message failed", { queue, messageId, orderId })` becomes
 * {"time":…,"level":"warn","nodeID":…,"mod":…,"msg":"Message failed","queue":…,"messageId":…}.
 * Moleculer's own "json" formatter prints the fields as util.inspect text inside `msg`, which
 * a log pipeline cannot query.
 */
import { inspect } from "util";

type Bindings = { nodeID?: string; ns?: string; mod?: string; svc?: string };

const RESERVED = new Set(["time", "level", "msg", "nodeID", "ns", "mod", "svc"]);

function errorFields(err: Error): Record<string, unknown> {
	const e = err as Error & { code?: unknown; type?: unknown; data?: unknown };
	const out: Record<string, unknown> = { name: e.name, message: e.message };
	if (e.code !== undefined) out.code = e.code;
	if (e.type !== undefined) out.type = e.type;
	if (e.stack) out.stack = e.stack;
	return out;
}

/** A Moleculer logger formatter (`logger.options.formatter`). */
export function jsonLogFormatter(type: string, args: unknown[], bindings: Bindings): string[] {
	const words: string[] = [];
	const fields: Record<string, unknown> = {};
	for (const arg of args) {
		if (arg instanceof Error) fields.err = errorFields(arg);
		else if (arg && typeof arg === "object" && !Array.isArray(arg)) {
			for (const [k, v] of Object.entries(arg))
				fields[RESERVED.has(k) ? `field_${k}` : k] = v instanceof Error ? errorFields(v) : v;
		} else if (typeof arg === "string") words.push(arg.trim());
		else words.push(inspect(arg, { depth: 2, breakLength: Infinity }));
	}
	const line: Record<string, unknown> = {
		time: new Date().toISOString(),
		level: type,
		nodeID: bindings.nodeID,
		mod: bindings.mod,
		msg: words.filter(Boolean).join(" "),
		...fields,
	};
	if (bindings.ns) line.ns = bindings.ns;
	if (bindings.svc) line.svc = bindings.svc;
	try {
		return [JSON.stringify(line)];
	} catch {
		// A field that cannot be serialized (a cycle): keep the line, inspect the fields.
		return [
			JSON.stringify({
				...line,
				...Object.fromEntries(Object.keys(fields).map(k => [k, inspect(fields[k], { depth: 2 })])),
			}),
		];
	}
}
