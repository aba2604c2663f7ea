/**
 * Structure checks of an OpenAPI 3.0 document, and a small JSON Schema checker for its
 * examples: enough to catch a broken document without a validator package.
 */
import type { Json } from "./http";

type Obj = Record<string, Json>;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PARAM_IN = ["query", "header", "path", "cookie"];

/** Resolves a local "#/a/b" reference. */
export function resolveRef(doc: Obj, ref: string): unknown {
	if (!ref.startsWith("#/")) return undefined;
	return ref
		.slice(2)
		.split("/")
		.map(p => p.replace(/~1/g, "/").replace(/~0/g, "~"))
		.reduce<Json>((node, key) => (node && typeof node === "object" ? node[key] : undefined), doc);
}

const deref = (doc: Obj, o: Json): Json =>
	o && typeof o === "object" && typeof o.$ref === "string"
		? deref(doc, resolveRef(doc, o.$ref))
		: o;

/** Every problem found, as readable lines (empty when the document is well-formed). */
export function openApiProblems(doc: Obj): string[] {
	const problems: string[] = [];
	const problem = (where: string, what: string) => problems.push(`${where}: ${what}`);

	if (typeof doc.openapi !== "string" || !/^3\.\d+\.\d+$/.test(doc.openapi))
		problem("openapi", `not a 3.x.y version: ${doc.openapi}`);
	if (typeof doc.info?.title !== "string" || !doc.info.title) problem("info.title", "missing");
	if (typeof doc.info?.version !== "string" || !doc.info.version)
		problem("info.version", "missing");
	if (!doc.paths || typeof doc.paths !== "object") problem("paths", "missing");
	for (const s of doc.servers ?? [])
		if (typeof s.url !== "string") problem("servers", "a server has no url");

	// Every $ref resolves.
	const walk = (node: unknown, at: string) => {
		if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${at}[${i}]`));
		else if (node && typeof node === "object") {
			for (const [k, v] of Object.entries(node)) {
				if (k === "$ref" && (typeof v !== "string" || resolveRef(doc, v) === undefined))
					problem(at, `unresolved $ref ${v}`);
				else if (k !== "example" && k !== "examples") walk(v, `${at}.${k}`);
			}
		}
	};
	walk(doc, "#");

	const schemes = Object.keys(doc.components?.securitySchemes ?? {});
	const checkSecurity = (where: string, security: unknown) => {
		if (security === undefined) return;
		if (!Array.isArray(security)) return problem(where, "security is not an array");
		for (const req of security)
			for (const name of Object.keys(req))
				if (!schemes.includes(name)) problem(where, `unknown security scheme ${name}`);
	};
	checkSecurity("security", doc.security);
	for (const [name, s] of Object.entries<Obj>(doc.components?.securitySchemes ?? {})) {
		if (!["apiKey", "http", "oauth2", "openIdConnect"].includes(s.type))
			problem(`securitySchemes.${name}`, `bad type ${s.type}`);
		if (s.type === "apiKey" && (!s.name || !["query", "header", "cookie"].includes(s.in)))
			problem(`securitySchemes.${name}`, "apiKey needs name and in");
	}

	const tags = new Set((doc.tags ?? []).map((t: Obj) => t.name));
	const operationIds = new Set<string>();
	for (const [path, item] of Object.entries<Obj>(doc.paths ?? {})) {
		if (!path.startsWith("/")) problem(path, "path does not start with /");
		const templated = [...path.matchAll(/\{([^}]+)\}/g)].map(m => m[1]);
		for (const [method, op] of Object.entries<Obj>(item)) {
			const where = `${method.toUpperCase()} ${path}`;
			if (!METHODS.includes(method)) {
				if (method !== "parameters" && method !== "summary" && method !== "description")
					problem(where, "not an HTTP method");
				continue;
			}
			if (op.operationId) {
				if (operationIds.has(op.operationId))
					problem(where, `duplicate operationId ${op.operationId}`);
				operationIds.add(op.operationId);
			}
			for (const t of op.tags ?? []) if (!tags.has(t)) problem(where, `tag ${t} is not declared`);
			checkSecurity(where, op.security);
			const params = (op.parameters ?? []).map((p: Obj) => deref(doc, p));
			const seen = new Set<string>();
			for (const p of params) {
				if (typeof p?.name !== "string" || !PARAM_IN.includes(p.in)) {
					problem(where, `bad parameter ${JSON.stringify(p)}`);
					continue;
				}
				if (seen.has(`${p.in}:${p.name}`)) problem(where, `parameter ${p.name} twice`);
				seen.add(`${p.in}:${p.name}`);
				if (!p.schema && !p.content)
					problem(where, `parameter ${p.name} has neither schema nor content`);
				if (p.in === "path" && p.required !== true)
					problem(where, `path parameter ${p.name} is not required`);
				if (p.in === "path" && !templated.includes(p.name))
					problem(where, `path parameter ${p.name} is not in the path`);
			}
			for (const t of templated)
				if (!params.some((p: Obj) => p.in === "path" && p.name === t))
					problem(where, `{${t}} has no path parameter`);
			if (op.requestBody) {
				const body = deref(doc, op.requestBody);
				if (!body.content || !Object.keys(body.content).length)
					problem(where, "requestBody without content");
			}
			const responses = Object.entries<Obj>(op.responses ?? {});
			if (!responses.length) problem(where, "no responses");
			for (const [code, r] of responses) {
				if (!/^[1-5](\d\d|XX)$|^default$/.test(code)) problem(where, `bad response code ${code}`);
				if (typeof deref(doc, r).description !== "string")
					problem(`${where} ${code}`, "response without description");
			}
		}
	}
	return problems;
}

/** Why `value` does not match `schema` (empty when it does). */
export function schemaProblems(doc: Obj, schema: Obj, value: unknown, at = "$"): string[] {
	schema = deref(doc, schema);
	if (!schema || typeof schema !== "object") return [];
	const out: string[] = [];
	if (schema.oneOf) {
		const matches = (schema.oneOf as Obj[]).filter(
			s => !schemaProblems(doc, s, value, at).length,
		).length;
		if (matches !== 1) out.push(`${at}: matches ${matches} of oneOf`);
		return out;
	}
	if (value === null) return schema.nullable ? [] : [`${at}: null`];
	const type = schema.type;
	const actual = Array.isArray(value)
		? "array"
		: Number.isInteger(value)
			? "integer"
			: typeof value;
	if (type && !(type === actual || (type === "number" && actual === "integer")))
		return [`${at}: ${actual}, expected ${type}`];
	if (schema.enum && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value)))
		out.push(`${at}: ${JSON.stringify(value)} not in enum`);
	if (typeof value === "number") {
		if (schema.minimum !== undefined && value < schema.minimum) out.push(`${at}: below minimum`);
		if (schema.maximum !== undefined && value > schema.maximum) out.push(`${at}: above maximum`);
	}
	if (typeof value === "string") {
		if (schema.minLength !== undefined && value.length < schema.minLength)
			out.push(`${at}: shorter than minLength`);
		if (schema.maxLength !== undefined && value.length > schema.maxLength)
			out.push(`${at}: longer than maxLength`);
		if (schema.pattern && !new RegExp(schema.pattern, "u").test(value))
			out.push(`${at}: does not match ${schema.pattern}`);
		if (schema.format === "date-time" && Number.isNaN(Date.parse(value)))
			out.push(`${at}: not a date-time`);
		if (
			schema.format === "uuid" &&
			!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
		)
			out.push(`${at}: not a uuid`);
	}
	if (Array.isArray(value) && schema.items)
		value.forEach((v, i) => out.push(...schemaProblems(doc, schema.items, v, `${at}[${i}]`)));
	if (actual === "object") {
		const v = value as Obj;
		for (const r of schema.required ?? []) if (!(r in v)) out.push(`${at}: missing ${r}`);
		for (const [k, item] of Object.entries(v)) {
			if (schema.properties?.[k])
				out.push(...schemaProblems(doc, schema.properties[k], item, `${at}.${k}`));
			else if (schema.additionalProperties === false) out.push(`${at}: unexpected ${k}`);
			else if (schema.additionalProperties && typeof schema.additionalProperties === "object")
				out.push(...schemaProblems(doc, schema.additionalProperties, item, `${at}.${k}`));
		}
	}
	return out;
}

/** Every example in the document (media-type example, examples[].value, schema example) checked against its schema. */
export function exampleProblems(doc: Obj): string[] {
	const out: string[] = [];
	const media = (where: string, m: Obj) => {
		if (!m?.schema) return;
		if (m.example !== undefined && typeof m.example !== "string")
			out.push(...schemaProblems(doc, m.schema, m.example, where));
		for (const [name, ex] of Object.entries<Obj>(m.examples ?? {}))
			out.push(...schemaProblems(doc, m.schema, deref(doc, ex).value, `${where} (${name})`));
	};
	for (const [path, item] of Object.entries<Obj>(doc.paths ?? {}))
		for (const [method, op] of Object.entries<Obj>(item)) {
			if (!METHODS.includes(method)) continue;
			for (const [code, r] of Object.entries<Obj>(op.responses ?? {}))
				for (const [type, m] of Object.entries<Obj>(deref(doc, r).content ?? {}))
					media(`${method} ${path} ${code} ${type}`, m);
		}
	for (const [name, s] of Object.entries<Obj>(doc.components?.schemas ?? {}))
		if (s.example !== undefined)
			out.push(...schemaProblems(doc, s, s.example, `schemas.${name}.example`));
	return out;
}
