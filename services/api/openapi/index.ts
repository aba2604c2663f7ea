/**
 * The OpenAPI 3 document of the gateway (GET /openapi.json), built from the code it
 * describes so the two cannot drift apart:
 * - routes: the gateway's alias table (`apiAliases`) and the operational routes (ops-paths.ts);
 * - request parameters and bodies: the actions' own fastest-validator `params`
 *   (lib/action-params.ts, converted by rules.ts);
 * - success codes and Location headers: the gateway's `successStatus`;
 * - success bodies: schemas tied to the types the code returns (schemas.ts);
 * - error bodies and examples: the real error classes through `toPublicError`, and a real
 *   validation failure of each action's params (error-examples.ts).
 * Only prose is written by hand (prose.ts), and building the document fails if a route or a
 * parameter has none. Pure functions: no broker, no I/O.
 */
import type { Params } from "../../../lib/action-params";
import type { AuthMode } from "../../../lib/config";
import type { PublicError } from "../../../lib/errors";
import { authPaths, authSchemas, securityFor, securitySchemes, tokenErrorExample } from "./auth";
import { errorExamples, type ErrorType, validationExample } from "./error-examples";
import { json, ref, type Schema } from "./json-schema";
import { opsPaths } from "./ops-paths";
import { apiDescription, operationDocs } from "./prose";
import { isOptional, paramsToSchema, ruleToSchema } from "./rules";
import { componentSchemas } from "./schemas";

export { paramsToSchema, ruleToSchema } from "./rules";
export type { Schema } from "./json-schema";

export const OPENAPI_VERSION = "3.0.3";

export interface OpenApiInput {
	/** Route prefix and its "METHOD /path" → action table (the gateway's `apiAliases`). */
	api: { prefix: string; aliases: Record<string, string> };
	/** Success codes other than 200 and whether they carry a Location header. */
	successStatus: Record<string, { code: number; location?: unknown }>;
	/** The fastest-validator `params` of the actions behind the routes (lib/action-params.ts); none when absent. */
	actions: Record<string, Params>;
	/** Patterns of the X-User-ID and Idempotency-Key headers (the gateway's own regexps). */
	userIdPattern: string;
	idempotencyKeyPattern: string;
	/** AUTH_MODE: which security scheme the /api routes use. */
	authMode: AuthMode;
	/** The /api/auth routes (need no identity). */
	authAliases: { prefix: string; aliases: Record<string, string> };
	maxBalance: number;
	version: string;
}

/** "/orders/:id" → "/orders/{id}", and the names of its path parameters. */
export function toOpenApiPath(path: string): { path: string; params: string[] } {
	const params: string[] = [];
	const out = path.replace(/:([A-Za-z0-9_]+)\??/g, (_, name: string) => {
		params.push(name);
		return `{${name}}`;
	});
	return { path: out, params };
}

const SUCCESS: Record<number, string> = {
	200: "OK.",
	201: "Created.",
	202: "Accepted: the payment (or the refund) follows asynchronously.",
};

function errorResponses(
	types: ErrorType[],
	bodies: Record<ErrorType, PublicError>,
	overrides: Partial<Record<ErrorType, PublicError>> = {},
) {
	const byStatus = new Map<number, ErrorType[]>();
	for (const t of new Set(types)) {
		const code = (overrides[t] ?? bodies[t]).code;
		byStatus.set(code, [...(byStatus.get(code) ?? []), t]);
	}
	const out: Record<string, unknown> = {};
	for (const [code, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
		out[String(code)] = {
			description: `Error of type ${list.join(", ")}.`,
			...(code === 429 || code === 503
				? {
						headers: {
							"Retry-After": {
								description:
									code === 429
										? "Seconds until the next request is allowed (an integer ≥ 1)."
										: "Seconds to wait before retrying (the same Idempotency-Key for a write).",
								schema: { type: "integer", minimum: 1 },
							},
						},
					}
				: {}),
			content: json(ref("Error"), {
				examples: Object.fromEntries(
					list.map(t => [t, { summary: t, value: overrides[t] ?? bodies[t] }]),
				),
			}),
		};
	}
	return out;
}

function apiOperation(
	method: string,
	path: string,
	pathParams: string[],
	action: string,
	input: OpenApiInput,
	errors: Record<ErrorType, PublicError>,
) {
	const doc = operationDocs[action];
	if (!doc) throw new Error(`openapi: no operationDocs entry for ${action} (${method} ${path})`);
	const params = input.actions[action] ?? {};
	const fields = Object.keys(params);
	for (const f of fields)
		if (!doc.params?.[f])
			throw new Error(`openapi: param '${f}' of ${action} has no description in operationDocs`);
	for (const f of Object.keys(doc.params ?? {}))
		if (!fields.includes(f))
			throw new Error(
				`openapi: operationDocs of ${action} describes '${f}', which the action does not take`,
			);
	for (const p of pathParams)
		if (!fields.includes(p))
			throw new Error(
				`openapi: path parameter '${p}' of ${method} ${path} is not a param of ${action}`,
			);

	const hasBody = method === "post" || method === "put" || method === "patch";
	const parameters: unknown[] = [{ $ref: "#/components/parameters/RequestId" }];
	if (doc.idempotencyKey) parameters.push({ $ref: "#/components/parameters/IdempotencyKey" });
	for (const p of pathParams)
		parameters.push({
			name: p,
			in: "path",
			required: true,
			description: doc.params![p],
			schema: ruleToSchema(params[p]),
		});
	const rest = fields.filter(f => !pathParams.includes(f));
	let requestBody: unknown;
	if (hasBody && rest.length) {
		const schema = paramsToSchema(Object.fromEntries(rest.map(f => [f, params[f]])));
		for (const f of rest)
			(schema.properties as Record<string, Schema>)[f].description = doc.params![f];
		requestBody = { required: Array.isArray(schema.required), content: json(schema) };
	} else {
		for (const f of rest)
			parameters.push({
				name: f,
				in: "query",
				required: !isOptional(params[f]),
				description: doc.params![f],
				schema: ruleToSchema(params[f]),
			});
	}

	const types: ErrorType[] = [
		"UNAUTHORIZED",
		...doc.errors,
		"RATE_LIMITED",
		"SERVICE_UNAVAILABLE",
		"INTERNAL_ERROR",
	];
	if (hasBody) types.push("INVALID_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE");
	if (pathParams.length) types.push("UNABLE_DECODE_PARAM");
	if (doc.idempotencyKey) types.push("INVALID_IDEMPOTENCY_KEY");
	const overrides: Partial<Record<ErrorType, PublicError>> = {};
	if (rest.length) {
		types.push("VALIDATION_ERROR");
		const example = validationExample(Object.fromEntries(rest.map(f => [f, params[f]])));
		if (example) overrides.VALIDATION_ERROR = example;
	}

	const success = input.successStatus[action];
	const code = success?.code ?? 200;
	const schema = Array.isArray(doc.response)
		? { type: "array", items: ref(doc.response[0]) }
		: ref(doc.response);
	const headers: Record<string, unknown> = {
		"X-Request-ID": { $ref: "#/components/headers/X-Request-ID" },
	};
	if (success?.location)
		headers.Location = {
			description: "Where to read what was created or accepted.",
			schema: { type: "string" },
		};

	const [service] = action.split(".");
	return {
		tags: [doc.tag],
		operationId: action.replace(".", "_"),
		summary: doc.summary,
		description: `${doc.description}\n\nAction: \`${action}\` (${service} service).`,
		parameters,
		...(requestBody ? { requestBody } : {}),
		responses: {
			[String(code)]: { description: SUCCESS[code] ?? "Success.", headers, content: json(schema) },
			...errorResponses(types, errors, overrides),
		},
	};
}

export function buildOpenApi(input: OpenApiInput): Record<string, unknown> {
	const errors = errorExamples(input.maxBalance);
	if (input.authMode === "jwt") errors.UNAUTHORIZED = tokenErrorExample();
	const paths: Record<string, Record<string, unknown>> = {};
	const authPathDocs = authPaths(errors) as Record<string, unknown>;
	for (const [route, action] of Object.entries(input.api.aliases)) {
		const [method, aliasPath] = route.split(/\s+/);
		const { path, params } = toOpenApiPath(input.api.prefix + aliasPath);
		const m = method.toLowerCase();
		paths[path] = {
			...(paths[path] ?? {}),
			[m]: apiOperation(m, path, params, action, input, errors),
		};
	}
	for (const route of Object.keys(input.authAliases.aliases)) {
		const path = toOpenApiPath(input.authAliases.prefix + route.split(/\s+/)[1]).path;
		if (!authPathDocs[path])
			throw new Error(`openapi: no description of ${route} in openapi/auth.ts`);
		paths[path] = authPathDocs[path] as Record<string, unknown>;
	}
	Object.assign(paths, opsPaths(errors));
	return {
		openapi: OPENAPI_VERSION,
		info: {
			title: "Gozon API",
			version: input.version,
			description: apiDescription(input.authMode),
		},
		// Relative: the document works on whatever host and port serves it.
		servers: [{ url: "/", description: "This gateway" }],
		tags: [
			{
				name: "Accounts",
				description: "The caller's account, top-ups and ledger (payments service).",
			},
			{ name: "Orders", description: "The caller's orders (orders service)." },
			{ name: "Auth", description: "How to sign in, and development tokens (need no identity)." },
			{ name: "Operations", description: "Documentation, health and metrics of the cluster." },
		],
		security: securityFor(input.authMode),
		paths,
		components: {
			securitySchemes: securitySchemes(input.userIdPattern),
			parameters: {
				IdempotencyKey: {
					name: "Idempotency-Key",
					in: "header",
					required: false,
					description:
						"Makes a retry safe: the same key and body return the first response with no second effect.",
					schema: {
						type: "string",
						minLength: 1,
						maxLength: 255,
						pattern: input.idempotencyKeyPattern,
					},
				},
				RequestId: {
					name: "X-Request-ID",
					in: "header",
					required: false,
					description:
						"Your id for this request in logs and traces (one is generated when left out).",
					schema: { type: "string", maxLength: 255 },
				},
			},
			headers: {
				"X-Request-ID": {
					description: "The request's id in logs and traces.",
					schema: { type: "string" },
				},
			},
			schemas: { ...componentSchemas(), ...authSchemas() },
		},
	};
}
