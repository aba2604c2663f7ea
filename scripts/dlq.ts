/**
 * `npm run dlq -- list|show|replay|purge`: the dead letters of orders.to_pay.dlq,
 * payment.results.dlq and orders.to_refund.dlq (or of one queue with --queue), on the RabbitMQ
 * of AMQP_URL.
 * Reading never removes a message; see lib/messaging/dead-letters.ts for how.
 */
import * as amqp from "amqplib";
import { createInterface } from "readline";
import { ConfigError, loadConfig, redactUrl } from "../lib/config";
import {
	businessDeadLetterQueues,
	DeadLetter,
	DeadLetterError,
	DeadLetterQueues,
	toDeadLetterQueue,
} from "../lib/messaging/dead-letters";
import { connectFirst } from "../lib/messaging/connection";

const USAGE = `Usage: npm run dlq -- <command> [options]

Commands:
  list                        Dead letters: messageId, original queue, attempts, time, reason, body preview
  show <messageId>            One dead letter in full: properties, headers and body
  replay <messageId> | --all  Republish to the original queue (same messageId, publisher confirms),
                              then remove from the DLQ
  purge [--yes]               Delete the dead letters (asks first unless --yes)

Options:
  --queue <name>   Only this queue: orders.to_pay, payment.results, orders.to_refund or their .dlq
                   (default: the three DLQs)
  --limit <n>      Most messages read per queue (default 10000)
  --json           list: print JSON instead of a table

RabbitMQ is AMQP_URL (default amqp://guest:guest@127.0.0.1:5672).`;

class UsageError extends Error {}

interface Args {
	command: string;
	id?: string;
	queues: string[];
	/** Whether --queue named the queue (then it must exist). */
	namedQueue: boolean;
	all: boolean;
	yes: boolean;
	json: boolean;
	limit?: number;
}

function parseArgs(argv: string[]): Args {
	const args: Args = {
		command: "",
		queues: businessDeadLetterQueues,
		namedQueue: false,
		all: false,
		yes: false,
		json: false,
	};
	const positional: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const value = () => {
			const v = argv[++i];
			if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
			return v;
		};
		if (a === "--queue") {
			args.queues = [toDeadLetterQueue(value())];
			args.namedQueue = true;
		} else if (a === "--limit") {
			const v = value();
			if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)
				throw new UsageError(`--limit must be an integer from 1 to 65535, got "${v}"`);
			args.limit = Number(v);
		} else if (a === "--all") args.all = true;
		else if (a === "--yes" || a === "-y") args.yes = true;
		else if (a === "--json") args.json = true;
		else if (a === "--help" || a === "-h") positional.unshift("help");
		else if (a.startsWith("-")) throw new UsageError(`Unknown option ${a}`);
		else positional.push(a);
	}
	args.command = positional[0] ?? "help";
	args.id = positional[1];
	if (positional.length > 2) throw new UsageError(`Unexpected argument "${positional[2]}"`);
	if (args.command === "show" && !args.id) throw new UsageError("show needs a messageId");
	if (args.command === "replay" && !args.id === !args.all)
		throw new UsageError("replay needs a messageId or --all (not both)");
	return args;
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function table(rows: string[][]): string {
	const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)));
	return rows
		.map(r => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  "))
		.join("\n");
}

function bodyText(content: Buffer): string {
	const raw = content.toString("utf8");
	try {
		return JSON.stringify(JSON.parse(raw), null, 2);
	} catch {
		return raw;
	}
}

function printList(dlq: string, total: number, letters: DeadLetter[]): void {
	const shown = letters.length < total ? ` (showing the first ${letters.length})` : "";
	console.log(`${dlq}: ${total} dead letter${total === 1 ? "" : "s"}${shown}`);
	if (!letters.length) return;
	const rows = [["MESSAGE ID", "ORIGINAL QUEUE", "ATTEMPTS", "DEAD-LETTERED AT", "REASON", "BODY"]];
	for (const d of letters)
		rows.push([
			cut(d.messageId ?? "-", 40),
			d.originalQueue,
			d.attempts === undefined ? "-" : String(d.attempts),
			d.deadLetteredAt ?? "-",
			cut(oneLine(d.reason ?? "-"), 50),
			cut(oneLine(d.content.toString("utf8")), 60),
		]);
	console.log(table(rows));
}

function printLetter(d: DeadLetter): void {
	console.log(`${d.dlq} · messageId ${d.messageId}`);
	console.log(
		table([
			["  original queue", d.originalQueue],
			["  reason", d.reason ?? "-"],
			["  attempts", d.attempts === undefined ? "-" : String(d.attempts)],
			["  dead-lettered at", d.deadLetteredAt ?? "-"],
		]),
	);
	console.log("properties:");
	for (const [k, v] of Object.entries(d.properties))
		if (k !== "headers" && v !== undefined) console.log(`  ${k}: ${String(v)}`);
	console.log("headers:");
	for (const [k, v] of Object.entries(d.headers))
		console.log(
			`  ${k}: ${typeof v === "object" && !Buffer.isBuffer(v) ? JSON.stringify(v) : String(v)}`,
		);
	console.log(`body (${d.content.length} bytes):`);
	console.log(bodyText(d.content));
}

async function confirm(question: string): Promise<boolean> {
	const rl = createInterface({ input: process.stdin, output: process.stdout });
	try {
		const answer = await new Promise<string>(resolve => {
			rl.question(question, resolve);
			rl.on("close", () => resolve(""));
		});
		return /^y(es)?$/i.test(answer.trim());
	} finally {
		rl.close();
	}
}

/** The DLQs to work on: all of them must exist when named with --queue; missing defaults are skipped. */
async function existingQueues(dlqs: DeadLetterQueues, args: Args): Promise<string[]> {
	const out: string[] = [];
	for (const q of args.queues) {
		if (await dlqs.exists(q)) out.push(q);
		else if (args.namedQueue) throw new DeadLetterError(`Queue "${q}" does not exist`);
		else console.log(`${q}: not declared yet (no node has started), nothing in it`);
	}
	return out;
}

async function run(args: Args, dlqs: DeadLetterQueues): Promise<void> {
	const queues = await existingQueues(dlqs, args);
	const wanted = (d: DeadLetter) => d.messageId === args.id;
	const notFound = () =>
		new DeadLetterError(`No dead letter with messageId "${args.id}" in ${args.queues.join(", ")}`);

	switch (args.command) {
		case "list": {
			const pages = [];
			for (const q of queues) pages.push(await dlqs.list(q));
			if (args.json)
				console.log(
					JSON.stringify(
						pages.map(p => ({
							dlq: p.dlq,
							total: p.total,
							messages: p.messages.map(d => ({
								messageId: d.messageId,
								originalQueue: d.originalQueue,
								reason: d.reason,
								attempts: d.attempts,
								deadLetteredAt: d.deadLetteredAt,
								body: d.content.toString("utf8"),
							})),
						})),
						null,
						2,
					),
				);
			else pages.forEach(p => printList(p.dlq, p.total, p.messages));
			return;
		}
		case "show": {
			const found: DeadLetter[] = [];
			for (const q of queues) found.push(...(await dlqs.list(q)).messages.filter(wanted));
			if (!found.length) throw notFound();
			found.forEach((d, i) => {
				if (i) console.log("");
				printLetter(d);
			});
			return;
		}
		case "replay": {
			let replayed = 0;
			for (const q of queues) {
				const done = await dlqs.replay(q, d => args.all || wanted(d));
				for (const d of done)
					console.log(`replayed ${d.messageId ?? "(no messageId)"}: ${q} → ${d.originalQueue}`);
				replayed += done.length;
			}
			if (!replayed && !args.all) throw notFound();
			console.log(`${replayed} message${replayed === 1 ? "" : "s"} replayed`);
			return;
		}
		case "purge": {
			const counts = await Promise.all(queues.map(q => dlqs.depth(q)));
			const total = counts.reduce((a, b) => a + b, 0);
			if (!total) {
				console.log("Nothing to purge");
				return;
			}
			const summary = queues.map((q, i) => `${q} (${counts[i]})`).join(", ");
			if (
				!args.yes &&
				!(await confirm(
					`Delete ${total} dead letter${total === 1 ? "" : "s"} from ${summary}? [y/N] `,
				))
			) {
				console.log("Not purged");
				return;
			}
			for (const q of queues) console.log(`${q}: ${await dlqs.purge(q)} deleted`);
			return;
		}
		default:
			throw new UsageError(`Unknown command "${args.command}"`);
	}
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2));
	if (args.command === "help") {
		console.log(USAGE);
		return;
	}
	const config = loadConfig();
	let connection: amqp.ChannelModel;
	try {
		connection = await connectFirst(config.amqpUrl, 5000);
	} catch (err) {
		const e = err as { code?: string; message?: string };
		throw new DeadLetterError(
			`Cannot connect to RabbitMQ at ${redactUrl(config.amqpUrl)}: ${e.code ?? e.message}`,
		);
	}
	connection.on("error", () => undefined);
	try {
		await run(args, new DeadLetterQueues(connection, args.limit ? { limit: args.limit } : {}));
	} finally {
		await connection.close().catch(() => undefined);
	}
}

main().catch(err => {
	if (err instanceof UsageError) {
		console.error(`${err.message}\n\n${USAGE}`);
		process.exit(2);
	}
	const known = err instanceof DeadLetterError || err instanceof ConfigError;
	console.error(known ? err.message : `dlq failed: ${(err as Error).stack ?? err}`);
	process.exit(1);
});
