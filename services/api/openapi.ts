/**
 * The OpenAPI 3 document of the gateway (GET /openapi.json), built from the code it
 * describes so the two cannot drift apart:
 * - routes: the gateway's alias table (`apiAliases`) and the operational routes;
 * - request parameters and bodies: the actions' own fastest-validator `params`;
 * - success codes and Location headers: the gateway's `successStatus`;
 * - error bodies and examples: the real error classes of lib/errors.ts passed through
 *   `toPublicError`, and a real validation failure of each action's params.
 * Only prose (summaries, the meaning of each field) is written here by hand, and building the
 * document fails if a route or a parameter has none.
 *
 * Pure functions: no broker, no I/O.
 */
import { Errors, Validators } from "moleculer";
import ApiGateway from "moleculer-web";
import { MAX_AMOUNT, ORDER_STATUSES } from "../../lib/contracts";
import type { AuthMode } from "../../lib/config";
import { authPaths, authSchemas, securityFor, securitySchemes, tokenErrorExample } from "./openapi-auth";
import {
	AccountExistsError,
	AccountNotFoundError,
	BalanceLimitError,
	ErrorTypes,
	IdempotencyKeyReusedError,
	InvalidCursorError,
	InvalidIdempotencyKeyError,
	OrderNotFoundError,
	OrderNotRefundableError,
	PublicError,
	RateLimitedError,
	toPublicError,
	UnauthorizedError,
} from "../../lib/errors";

export const OPENAPI_VERSION = "3.0.3";

/** A JSON Schema object as OpenAPI 3.0 uses it. */
export type Schema = Record<string, unknown>;

export type ErrorType = keyof typeof ErrorTypes;

// ---------------------------------------------------------------------------------------
// fastest-validator rules → JSON Schema
// ---------------------------------------------------------------------------------------

type RuleObject = Record<string, any> & { type: string };
export type Rule = string | RuleObject | Rule[];

/** "number|integer|min:1|optional" → { type: "number", integer: true, min: 1, optional: true }. */
export function parseShorthand(rule: string): RuleObject {
	const [head, ...flags] = rule.split("|").map(s => s.trim());
	if (head.endsWith("[]")) return { type: "array", items: head.slice(0, -2), ...parseFlags(flags) };
	return { type: head, ...parseFlags(flags) };
}

function parseFlags(flags: string[]): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const f of flags) {
		const i = f.indexOf(":");
		if (i < 0) {
			out[f] = true;
			continue;
		}
		const [k, v] = [f.slice(0, i), f.slice(i + 1)];
		out[k] = v === "true" ? true : v === "false" ? false : v !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
	}
	return out;
}

const asRule = (rule: Rule): RuleObject | RuleObject[] =>
	Array.isArray(rule) ? (rule.map(asRule) as RuleObject[]) : typeof rule === "string" ? parseShorthand(rule) : rule;

export function isOptional(rule: Rule): boolean {
	const r = asRule(rule);
	if (Array.isArray(r)) return r.some(x => x.optional === true || x.default !== undefined);
	return r.optional === true || r.default !== undefined;
}

/** The JSON Schema (OpenAPI 3.0 dialect) that accepts what the rule accepts, as far as JSON Schema can say. */
export function ruleToSchema(rule: Rule): Schema {
	const r = asRule(rule);
	if (Array.isArray(r)) return { oneOf: r.map(x => ruleToSchema(x)) };
	const s: Schema = {};
	switch (r.type) {
		case "number":
			s.type = r.integer ? "integer" : "number";
			if (r.min !== undefined) s.minimum = r.min;
			if (r.max !== undefined) s.maximum = r.max;
			if (r.positive) Object.assign(s, { minimum: 0, exclusiveMinimum: true });
			if (r.negative) Object.assign(s, { maximum: 0, exclusiveMaximum: true });
			if (r.equal !== undefined) s.enum = [r.equal];
			break;
		case "string":
			s.type = "string";
			if (r.length !== undefined) Object.assign(s, { minLength: r.length, maxLength: r.length });
			if (r.min !== undefined) s.minLength = r.min;
			if (r.max !== undefined) s.maxLength = r.max;
			if (r.pattern !== undefined) s.pattern = r.pattern instanceof RegExp ? r.pattern.source : String(r.pattern);
			if (Array.isArray(r.enum)) s.enum = r.enum;
			if (r.numeric) s.pattern = s.pattern ?? "^-?[0-9]+(\\.[0-9]+)?$";
			if (r.empty === false && s.minLength === undefined) s.minLength = 1;
			break;
		case "uuid":
			Object.assign(s, { type: "string", format: "uuid" });
			break;
		case "email":
			Object.assign(s, { type: "string", format: "email" });
			break;
		case "url":
			Object.assign(s, { type: "string", format: "uri" });
			break;
		case "date":
			Object.assign(s, { type: "string", format: "date-time" });
			break;
		case "boolean":
			s.type = "boolean";
			break;
		case "enum":
			s.enum = r.values;
			break;
		case "equal":
			s.enum = [r.value];
			break;
		case "array":
			s.type = "array";
			if (r.items !== undefined) s.items = ruleToSchema(r.items);
			else s.items = {};
			if (r.min !== undefined) s.minItems = r.min;
			if (r.max !== undefined) s.maxItems = r.max;
			if (r.length !== undefined) Object.assign(s, { minItems: r.length, maxItems: r.length });
			if (r.unique) s.uniqueItems = true;
			if (Array.isArray(r.enum)) s.items = { ...(s.items as Schema), enum: r.enum };
			break;
		case "object": {
			s.type = "object";
			const props = r.props ?? r.properties;
			if (props) Object.assign(s, paramsToSchema(props));
			if (r.strict === true || r.strict === "remove") s.additionalProperties = false;
			break;
		}
		case "multi":
			return { oneOf: (r.rules as Rule[]).map(ruleToSchema) };
		case "forbidden":
			return { not: {} };
		default:
			// "any", "custom" and types JSON Schema cannot express: anything goes.
			break;
	}
	if (r.default !== undefined && typeof r.default !== "function") s.default = r.default;
	if (r.nullable) s.nullable = true;
	if (r.trim && s.type === "string") s.description = "Leading and trailing whitespace is trimmed.";
	return s;
}

/** The object schema of a whole `params` block: properties and the required ones. */
export function paramsToSchema(params: Record<string, Rule>): Schema {
	const fields = Object.entries(params).filter(([k]) => !k.startsWith("$$"));
	const properties = Object.fromEntries(fields.map(([k, rule]) => [k, ruleToSchema(rule)]));
	const required = fields.filter(([, rule]) => !isOptional(rule)).map(([k]) => k);
	const s: Schema = { type: "object", properties };
	if (required.length) s.required = required;
	const strict = (params as Record<string, unknown>).$$strict;
	if (strict === true || strict === "remove") s.additionalProperties = false;
	return s;
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

const { BadRequestError, NotFoundError } = ApiGateway.Errors;
const SAMPLE_USER = 42;
const SAMPLE_ORDER = "0b6f2f8e-3d53-4b8e-9f3e-5a1c2d3e4f50";

/** A real error body of every type, as the gateway sends it (through `toPublicError`). */
export function errorExamples(maxBalance: number): Record<ErrorType, PublicError> {
	return {
		UNAUTHORIZED: toPublicError(new UnauthorizedError()),
		VALIDATION_ERROR: toPublicError(
			new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
				{ type: "required", field: "amount", message: "The 'amount' field is required." },
			]),
		),
		INVALID_JSON: toPublicError({ type: "entity.parse.failed" }),
		PAYLOAD_TOO_LARGE: toPublicError({ type: "entity.too.large" }),
		UNSUPPORTED_MEDIA_TYPE: toPublicError({ type: "charset.unsupported" }),
		UNABLE_DECODE_PARAM: toPublicError(new BadRequestError(ErrorTypes.UNABLE_DECODE_PARAM, { param: "%E0%A4%A" })),
		ACCOUNT_EXISTS: toPublicError(new AccountExistsError(SAMPLE_USER)),
		ACCOUNT_NOT_FOUND: toPublicError(new AccountNotFoundError(SAMPLE_USER)),
		ORDER_NOT_FOUND: toPublicError(new OrderNotFoundError(SAMPLE_ORDER)),
		ORDER_NOT_REFUNDABLE: toPublicError(new OrderNotRefundableError(SAMPLE_ORDER, "NEW")),
		BALANCE_LIMIT_EXCEEDED: toPublicError(new BalanceLimitError(maxBalance)),
		IDEMPOTENCY_KEY_REUSED: toPublicError(new IdempotencyKeyReusedError()),
		INVALID_IDEMPOTENCY_KEY: toPublicError(new InvalidIdempotencyKeyError()),
		INVALID_CURSOR: toPublicError(new InvalidCursorError()),
		NOT_FOUND: toPublicError(new NotFoundError(ErrorTypes.NOT_FOUND, undefined)),
		RATE_LIMITED: toPublicError(new RateLimitedError(1)),
		SERVICE_UNAVAILABLE: toPublicError({ name: "ServiceNotAvailableError" }),
		INTERNAL_ERROR: toPublicError(new Error("hidden")),
	};
}

/** A value the rule refuses, to show a real validation error of the field. */
function badValue(rule: Rule): unknown {
	const r = asRule(rule);
	const one = Array.isArray(r) ? r[0] : r;
	switch (one.type) {
		case "number":
			return one.min !== undefined ? one.min - 1 : "not a number";
		case "string":
			return one.min ? "" : 42;
		case "uuid":
			return "not-a-uuid";
		default:
			return null;
	}
}

/** The 422 body the action's own validator gives for a bad first field. */
export function validationExample(params: Record<string, Rule>): PublicError | undefined {
	const field = Object.keys(params).find(k => !k.startsWith("$$"));
	if (!field) return undefined;
	try {
		new Validators.Fastest().validate({ [field]: badValue(params[field]) }, params as any);
	} catch (err) {
		const body = toPublicError(err);
		const mine = (body.data as { field: string }[]).filter(d => d.field === field);
		return { ...body, message: mine.map(d => (d as unknown as { message: string }).message).join("; "), data: mine };
	}
	return undefined;
}

// ---------------------------------------------------------------------------------------
// What only a person can say: the meaning of each route and field
// ---------------------------------------------------------------------------------------

export interface OperationDoc {
	tag: "Accounts" | "Orders";
	summary: string;
	description: string;
	/** One line per param of the action (query, path or body field). */
	params?: Record<string, string>;
	/** Component schema of the success body, or [name] for a JSON array of it. */
	response: string | [string];
	/** The business errors of this action (the gateway's own are added by route kind). */
	errors: ErrorType[];
	/** Whether the action honours the Idempotency-Key header. */
	idempotencyKey?: boolean;
}

/** Docs of the public actions, by action name. */
export const operationDocs: Record<string, OperationDoc> = {
	"payments.createAccount": {
		tag: "Accounts",
		summary: "Open the caller's account",
		description: "Creates the account of the user named by X-User-ID with a zero balance in RUB. One account per user: a second call (also two racing calls) is 409.",
		response: "Account",
		errors: ["ACCOUNT_EXISTS"],
	},
	"payments.getAccount": {
		tag: "Accounts",
		summary: "Read the caller's account",
		description: "The balance in kopecks and the account's timestamps.",
		response: "Account",
		errors: ["ACCOUNT_NOT_FOUND"],
	},
	"payments.topUp": {
		tag: "Accounts",
		summary: "Top up the caller's account",
		description: "Adds `amount` kopecks to the balance and writes a TOP_UP ledger entry in one transaction; answers the account with the new balance. Send an Idempotency-Key to make a retry safe.",
		params: { amount: "Kopecks to add: an integer from 1 to 10^12." },
		response: "Account",
		errors: ["ACCOUNT_NOT_FOUND", "BALANCE_LIMIT_EXCEEDED", "IDEMPOTENCY_KEY_REUSED"],
		idempotencyKey: true,
	},
	"payments.listTransactions": {
		tag: "Accounts",
		summary: "List the caller's ledger, newest first",
		description: "Top-ups and order refunds (positive amounts) and order payments (negative amounts), each with the balance after it. Page with `limit` and `before`.",
		params: {
			limit: "Entries per page, 1 to 1000 (100 when left out).",
			before: "The `id` of the last entry of the previous page, for the next (older) page.",
		},
		response: ["LedgerEntry"],
		errors: ["ACCOUNT_NOT_FOUND", "INVALID_CURSOR"],
	},
	"orders.create": {
		tag: "Orders",
		summary: "Place an order",
		description: "Stores the order as NEW and its payment request in one transaction and answers 202 at once: payments debits the account asynchronously, and the order becomes FINISHED or CANCELLED (watch `order.updated` on socket.io, or read the order again). Send an Idempotency-Key to make a retry safe.",
		params: {
			amount: "Price in kopecks: an integer from 1 to 10^12.",
			description: "What is ordered: 1 to 500 characters after trimming, no NUL characters.",
		},
		response: "Order",
		errors: ["IDEMPOTENCY_KEY_REUSED"],
		idempotencyKey: true,
	},
	"orders.list": {
		tag: "Orders",
		summary: "List the caller's orders, newest first",
		description: "Only the caller's own orders. Page with `limit` and `before`.",
		params: {
			limit: "Orders per page, 1 to 1000 (100 when left out).",
			before: "The `id` of the last order of the previous page, for the next (older) page.",
		},
		response: ["Order"],
		errors: ["INVALID_CURSOR"],
	},
	"orders.get": {
		tag: "Orders",
		summary: "Read one of the caller's orders",
		description: "Another user's order is 404 too, as is any id that is not a UUID.",
		params: { id: "The order's id (a UUID)." },
		response: "Order",
		errors: ["ORDER_NOT_FOUND"],
	},
	"orders.refund": {
		tag: "Orders",
		summary: "Refund a finished order",
		description: "Moves a FINISHED order of the caller to REFUNDING and stores its refund request in one transaction, and answers 202 at once: payments credits the amount back (once, whatever is retried) with an ORDER_REFUND ledger entry, and the order becomes REFUNDED (watch `order.updated`, or read it again). Any other status is 409 ORDER_NOT_REFUNDABLE, including a refund already under way or done; of many racing requests exactly one is accepted. Another user's order is 404. No body. Send an Idempotency-Key to make a retry safe.",
		params: { id: "The order's id (a UUID)." },
		response: "Order",
		errors: ["ORDER_NOT_FOUND", "ORDER_NOT_REFUNDABLE", "IDEMPOTENCY_KEY_REUSED"],
		idempotencyKey: true,
	},
	"orders.summary": {
		tag: "Orders",
		summary: "Count the caller's orders by status",
		description: "All of the caller's orders, however many, counted by PostgreSQL: the total, the count per status (every status present, 0 included) and `spent`, the kopecks of the FINISHED orders (a refunded order no longer counts).",
		response: "OrderSummary",
		errors: [],
	},
};

// ---------------------------------------------------------------------------------------
// Component schemas and examples of the success bodies
// ---------------------------------------------------------------------------------------

const dateTime = { type: "string", format: "date-time" };
const cancelReason = {
	type: "string",
	enum: ["INSUFFICIENT_FUNDS", "ACCOUNT_NOT_FOUND"],
	description: "Why a CANCELLED order was refused; absent otherwise.",
};

export const examples = {
	Account: {
		userId: SAMPLE_USER,
		balance: 7500,
		currency: "RUB",
		createdAt: "2026-01-15T09:30:00.000Z",
		updatedAt: "2026-01-15T09:31:12.345Z",
	},
	Order: {
		id: SAMPLE_ORDER,
		userId: SAMPLE_USER,
		amount: 2500,
		description: "Book",
		status: "NEW",
		createdAt: "2026-01-15T09:31:12.345Z",
		updatedAt: "2026-01-15T09:31:12.345Z",
	},
	OrderSummary: {
		total: 12,
		byStatus: { NEW: 1, FINISHED: 8, CANCELLED: 2, REFUNDING: 0, REFUNDED: 1 },
		spent: 96500,
	},
	LedgerEntry: {
		id: 1017,
		kind: "ORDER_PAYMENT",
		amount: -2500,
		balanceAfter: 7500,
		orderId: SAMPLE_ORDER,
		createdAt: "2026-01-15T09:31:12.402Z",
	},
	OrderUpdated: {
		orderId: SAMPLE_ORDER,
		userId: SAMPLE_USER,
		status: "CANCELLED",
		amount: 2500,
		cancelReason: "INSUFFICIENT_FUNDS",
		updatedAt: "2026-01-15T09:31:12.410Z",
	},
	Liveness: { status: "ok" },
	// What a gateway answers by default (HEALTH_DETAILS=false): no node ids, no error text.
	ReadinessReady: {
		status: "ready",
		checks: {
			gateway: { status: "up", checks: { redis: { status: "up" }, transporter: { status: "up" } } },
			orders: { status: "up", checks: { postgres: { status: "up" }, rabbitmq: { status: "up" }, redis: { status: "up" } } },
			payments: { status: "up", checks: { postgres: { status: "up" }, rabbitmq: { status: "up" }, redis: { status: "up" } } },
		},
		failing: [],
		degraded: [],
	},
	ReadinessNotReady: {
		status: "not_ready",
		checks: {
			gateway: { status: "up", checks: { redis: { status: "up" }, transporter: { status: "up" } } },
			orders: { status: "down", checks: { postgres: { status: "down" }, rabbitmq: { status: "up" }, redis: { status: "up" } } },
			payments: { status: "down", checks: {} },
		},
		failing: ["orders/postgres", "payments"],
		degraded: [],
	},
	// With HEALTH_DETAILS=true: every node and each failure's error.
	ReadinessDetails: {
		status: "not_ready",
		checks: {
			gateway: {
				nodeID: "gateway-host-101",
				service: "api",
				status: "up",
				checks: { redis: { status: "up", latencyMs: 1 }, transporter: { status: "up", latencyMs: 0 } },
			},
			orders: {
				status: "down",
				nodes: [
					{
						nodeID: "orders-host-102",
						service: "orders",
						status: "down",
						checks: {
							postgres: { status: "down", error: "no answer within 2000 ms" },
							rabbitmq: { status: "up", latencyMs: 0 },
							redis: { status: "up", latencyMs: 1 },
						},
					},
				],
			},
			payments: { status: "down", error: "no payments node is available", nodes: [] },
		},
		failing: ["orders/orders-host-102/postgres", "payments"],
		degraded: [],
	},
};

function componentSchemas(): Record<string, Schema> {
	const userId = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "The account owner (X-User-ID)." };
	const check = {
		type: "object",
		required: ["status"],
		properties: {
			status: {
				type: "string",
				enum: ["up", "down", "degraded"],
				description: "degraded: Redis (optional) is down.",
			},
			error: { type: "string", description: "Why it is down." },
			latencyMs: { type: "integer", minimum: 0 },
			state: { type: "string", description: "A consumer's own state, e.g. consuming." },
		},
	};
	return {
		Account: {
			type: "object",
			required: ["userId", "balance", "currency", "createdAt", "updatedAt"],
			properties: {
				userId,
				balance: { type: "integer", minimum: 0, description: "Kopecks." },
				currency: { type: "string", enum: ["RUB"] },
				createdAt: dateTime,
				updatedAt: dateTime,
			},
			example: examples.Account,
		},
		Order: {
			type: "object",
			required: ["id", "userId", "amount", "description", "status", "createdAt", "updatedAt"],
			properties: {
				id: { type: "string", format: "uuid" },
				userId,
				amount: { type: "integer", minimum: 1, maximum: MAX_AMOUNT, description: "Kopecks." },
				description: { type: "string", minLength: 1, maxLength: 500 },
				status: {
					type: "string",
					enum: ORDER_STATUSES,
					description: "NEW until payments has decided; then FINISHED (paid) or CANCELLED (refused, final). A refund moves FINISHED to REFUNDING, then REFUNDED (final) once the money is back.",
				},
				cancelReason,
				createdAt: dateTime,
				updatedAt: dateTime,
			},
			example: examples.Order,
		},
		LedgerEntry: {
			type: "object",
			required: ["id", "kind", "amount", "balanceAfter", "createdAt"],
			properties: {
				id: { type: "integer", minimum: 1, description: "Use as `before` for the next page." },
				kind: { type: "string", enum: ["TOP_UP", "ORDER_PAYMENT", "ORDER_REFUND"] },
				amount: { type: "integer", description: "Kopecks, signed: positive for a top-up or a refund, negative for a payment." },
				balanceAfter: { type: "integer", minimum: 0 },
				orderId: { type: "string", format: "uuid", description: "The paid or refunded order (ORDER_PAYMENT and ORDER_REFUND only)." },
				createdAt: dateTime,
			},
			example: examples.LedgerEntry,
		},
		OrderSummary: {
			type: "object",
			required: ["total", "byStatus", "spent"],
			properties: {
				total: { type: "integer", minimum: 0, description: "All of the caller's orders." },
				byStatus: {
					type: "object",
					required: [...ORDER_STATUSES],
					properties: Object.fromEntries(ORDER_STATUSES.map(s => [s, { type: "integer", minimum: 0 }])),
					additionalProperties: false,
				},
				spent: { type: "integer", minimum: 0, description: "Kopecks of the FINISHED orders (refunded ones no longer count)." },
			},
			example: examples.OrderSummary,
		},
		Error: {
			type: "object",
			required: ["name", "message", "code", "type"],
			properties: {
				name: { type: "string" },
				message: { type: "string", description: "For people; may change." },
				code: { type: "integer", minimum: 400, maximum: 599, description: "The HTTP status." },
				type: { type: "string", enum: Object.values(ErrorTypes), description: "Stable: switch on this." },
				data: {
					description: "Details: for VALIDATION_ERROR the failed fields ({ field, message, type }), otherwise an object.",
				},
			},
		},
		OrderUpdated: {
			type: "object",
			description: "The socket.io `order.updated` event (see the API description).",
			required: ["orderId", "userId", "status", "amount", "updatedAt"],
			properties: {
				orderId: { type: "string", format: "uuid" },
				userId,
				status: { type: "string", enum: ORDER_STATUSES },
				amount: { type: "integer", minimum: 1, maximum: MAX_AMOUNT },
				cancelReason,
				updatedAt: dateTime,
			},
			example: examples.OrderUpdated,
		},
		Liveness: {
			type: "object",
			required: ["status"],
			properties: { status: { type: "string", enum: ["ok"] } },
			example: examples.Liveness,
		},
		CheckResult: check,
		NodeHealth: {
			type: "object",
			description: "One node's own checks (what `<service>.health` answers).",
			required: ["nodeID", "service", "status", "checks"],
			properties: {
				nodeID: { type: "string" },
				service: { type: "string" },
				status: { type: "string", enum: ["up", "down", "degraded"] },
				checks: {
					type: "object",
					description: "postgres, rabbitmq, redis and consumer:<queue> (one per business-queue consumer) for a service node; redis, transporter for the gateway; rpc when the node did not answer.",
					additionalProperties: { $ref: "#/components/schemas/CheckResult" },
				},
			},
		},
		ServiceSummary: {
			type: "object",
			description: "A service (or the gateway) by default: its status, and per check the worst status over its nodes.",
			required: ["status", "checks"],
			properties: {
				status: { type: "string", enum: ["up", "down"] },
				checks: {
					type: "object",
					additionalProperties: {
						type: "object",
						required: ["status"],
						properties: { status: { type: "string", enum: ["up", "down"] } },
						additionalProperties: false,
					},
				},
			},
			additionalProperties: false,
		},
		ServiceReadiness: {
			type: "object",
			description: "Every node of a service; up only if it has a node and all are up.",
			required: ["status", "nodes"],
			properties: {
				status: { type: "string", enum: ["up", "down", "degraded"] },
				error: { type: "string" },
				nodes: { type: "array", items: { $ref: "#/components/schemas/NodeHealth" } },
			},
		},
		Readiness: {
			type: "object",
			required: ["status", "checks", "failing", "degraded"],
			properties: {
				status: {
					type: "string",
					enum: ["ready", "degraded", "not_ready"],
					description:
						"degraded (still 200): Redis is down somewhere; every call is served from PostgreSQL, without pushes.",
				},
				checks: {
					type: "object",
					description:
						"`gateway` (this gateway's own links), then one entry per service the gateway routes to: a ServiceSummary by default, NodeHealth and ServiceReadiness (every node) with HEALTH_DETAILS=true.",
					additionalProperties: {
						oneOf: [
							{ $ref: "#/components/schemas/ServiceSummary" },
							{ $ref: "#/components/schemas/NodeHealth" },
							{ $ref: "#/components/schemas/ServiceReadiness" },
						],
					},
				},
				failing: {
					type: "array",
					items: { type: "string" },
					description: "What is down: `<service>` (no node), `<service>/<check>` (`<service>/<nodeID>/<check>` with HEALTH_DETAILS=true) or `gateway/<check>`.",
				},
				degraded: {
					type: "array",
					items: { type: "string" },
					description:
						"What is degraded (Redis down): `<service>/<nodeID>/redis` or `gateway/redis`.",
				},
			},
		},
	};
}

// ---------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------

export interface OpenApiInput {
	/** Route prefix and its "METHOD /path" → action table (the gateway's `apiAliases`). */
	api: { prefix: string; aliases: Record<string, string> };
	/** Success codes other than 200 and whether they carry a Location header. */
	successStatus: Record<string, { code: number; location?: unknown }>;
	/** The actions behind the routes, with their fastest-validator `params`. */
	actions: Record<string, { params?: Record<string, Rule> } | undefined>;
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

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, extra: Record<string, unknown> = {}) => ({ "application/json": { schema, ...extra } });

function errorResponses(types: ErrorType[], bodies: Record<ErrorType, PublicError>, overrides: Partial<Record<ErrorType, PublicError>> = {}) {
	const byStatus = new Map<number, ErrorType[]>();
	for (const t of new Set(types)) {
		const code = (overrides[t] ?? bodies[t]).code;
		byStatus.set(code, [...(byStatus.get(code) ?? []), t]);
	}
	const out: Record<string, unknown> = {};
	for (const [code, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
		out[String(code)] = {
			description: `Error of type ${list.join(", ")}.`,
			...(code === 429 ? { headers: { "Retry-After": { description: "Seconds until the next request is allowed (an integer ≥ 1).", schema: { type: "integer", minimum: 1 } } } } : {}),
			content: json(ref("Error"), {
				examples: Object.fromEntries(list.map(t => [t, { summary: t, value: overrides[t] ?? bodies[t] }])),
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
	if (!input.actions[action]) throw new Error(`openapi: ${method.toUpperCase()} ${path} calls ${action}, which no known service defines`);
	const params = (input.actions[action]!.params ?? {}) as Record<string, Rule>;
	const fields = Object.keys(params).filter(k => !k.startsWith("$$"));
	for (const f of fields)
		if (!doc.params?.[f]) throw new Error(`openapi: param '${f}' of ${action} has no description in operationDocs`);
	for (const f of Object.keys(doc.params ?? {}))
		if (!fields.includes(f)) throw new Error(`openapi: operationDocs of ${action} describes '${f}', which the action does not take`);
	for (const p of pathParams)
		if (!fields.includes(p)) throw new Error(`openapi: path parameter '${p}' of ${method} ${path} is not a param of ${action}`);

	const hasBody = method === "post" || method === "put" || method === "patch";
	const parameters: unknown[] = [{ $ref: "#/components/parameters/RequestId" }];
	if (doc.idempotencyKey) parameters.push({ $ref: "#/components/parameters/IdempotencyKey" });
	for (const p of pathParams)
		parameters.push({ name: p, in: "path", required: true, description: doc.params![p], schema: ruleToSchema(params[p]) });
	const rest = fields.filter(f => !pathParams.includes(f));
	let requestBody: unknown;
	if (hasBody && rest.length) {
		const schema = paramsToSchema(Object.fromEntries(rest.map(f => [f, params[f]])));
		for (const f of rest) (schema.properties as Record<string, Schema>)[f].description = doc.params![f];
		requestBody = { required: Array.isArray(schema.required), content: json(schema) };
	} else {
		for (const f of rest)
			parameters.push({ name: f, in: "query", required: !isOptional(params[f]), description: doc.params![f], schema: ruleToSchema(params[f]) });
	}

	const types: ErrorType[] = ["UNAUTHORIZED", ...doc.errors, "RATE_LIMITED", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"];
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
	const schema = Array.isArray(doc.response) ? { type: "array", items: ref(doc.response[0]) } : ref(doc.response);
	const headers: Record<string, unknown> = { "X-Request-ID": { $ref: "#/components/headers/X-Request-ID" } };
	if (success?.location)
		headers.Location = { description: "Where to read what was created or accepted.", schema: { type: "string" } };

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

/** The operational routes the gateway serves besides /api (see ops.mixin.ts). */
function opsPaths(errors: Record<ErrorType, PublicError>): Record<string, unknown> {
	const open = { security: [] as unknown[] };
	const ops = ["Operations"];
	return {
		"/health/live": {
			get: {
				...open,
				tags: ops,
				operationId: "health_live",
				summary: "Liveness",
				description: "200 while the gateway process runs and serves HTTP; checks nothing else.",
				responses: { "200": { description: "Alive.", content: json(ref("Liveness")) } },
			},
		},
		"/health/ready": {
			get: {
				...open,
				tags: ops,
				operationId: "health_ready",
				summary: "Readiness",
				description:
					"200 when this gateway's Moleculer transporter works and every orders and payments node reports its PostgreSQL and RabbitMQ reachable (each node checks its own; RabbitMQ is down while it blocks publishes) and each of its consumers subscribed and not stalled (no progress for CONSUMER_STALL_MS while its queue holds messages); 503 otherwise, with `failing` naming what is down. Redis is optional: when it is down anywhere the answer is still 200 with status `degraded` and `degraded` naming where. Only up/down per service and check by default; with HEALTH_DETAILS=true every node and each failure's error (which can name hosts and ports).",
				responses: {
					"200": {
						description: "Ready, or degraded (Redis down: served from PostgreSQL).",
						content: json(ref("Readiness"), { example: examples.ReadinessReady }),
					},
					"503": {
						description: "Not ready: see `failing`.",
						content: json(ref("Readiness"), {
							examples: {
								default: { summary: "By default", value: examples.ReadinessNotReady },
								details: { summary: "HEALTH_DETAILS=true", value: examples.ReadinessDetails },
							},
						}),
					},
				},
			},
		},
		"/metrics": {
			get: {
				...open,
				tags: ops,
				operationId: "metrics",
				summary: "Prometheus metrics of the whole cluster",
				description: [
					"Prometheus text format (0.0.4), gathered from every node over Moleculer at scrape time.",
					"",
					"With METRICS_TOKEN set, it needs `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).",
					"",
					"- Moleculer's own (`moleculer_*`, `process_*`, `os_*`), labelled with `nodeID`, without the series that identify the host (host name, OS user, network interfaces, command line);",
					"- `gozon_orders_by_status{status}`; `gozon_outbox_pending_messages{service}`, `gozon_outbox_oldest_pending_age_seconds{service}`;",
					"- `gozon_queue_messages{queue}` for orders.to_pay, payment.results, orders.to_refund and their .dlq;",
					"- counters per node: `gozon_outbox_published_total`, `gozon_outbox_relay_rounds_total`, `gozon_outbox_relay_empty_rounds_total`, `gozon_inbox_duplicates_skipped_total`, `gozon_consumer_handled_total`, `gozon_consumer_batches_total`, `gozon_consumer_retried_total`, `gozon_dead_lettered_total`;",
					"- `gozon_payments_batch_duration_seconds` (histogram): the payments transaction of one batch of orders;",
					"- `gozon_scrape_node_up{nodeID}`: whether the node answered this scrape.",
				].join("\n"),
				responses: {
					"200": {
						description: "The metrics.",
						content: {
							"text/plain": {
								schema: { type: "string" },
								example:
									'# HELP gozon_orders_by_status Orders stored, by status\n# TYPE gozon_orders_by_status gauge\ngozon_orders_by_status{status="NEW"} 3\ngozon_orders_by_status{status="FINISHED"} 1250\n',
							},
						},
					},
					"401": {
						description: "METRICS_TOKEN is set and the request does not carry it.",
						content: json(ref("Error"), {
							examples: {
								UNAUTHORIZED: {
									summary: "UNAUTHORIZED",
									value: toPublicError(new UnauthorizedError("GET /metrics needs the header Authorization: Bearer <METRICS_TOKEN>")),
								},
							},
						}),
					},
				},
			},
		},
		"/openapi.json": {
			get: {
				...open,
				tags: ops,
				operationId: "openapi",
				summary: "This document",
				responses: { "200": { description: "OpenAPI 3 document.", content: json({ type: "object" }) } },
			},
		},
		"/docs": {
			get: {
				...open,
				tags: ops,
				operationId: "docs",
				summary: "Swagger UI",
				description: "Interactive documentation of this document; every call can be tried against this gateway.",
				responses: { "200": { description: "HTML page.", content: { "text/html": { schema: { type: "string" } } } } },
			},
		},
		"/docs/{file}": {
			get: {
				...open,
				tags: ops,
				operationId: "docs_asset",
				summary: "Swagger UI's static files",
				parameters: [{ name: "file", in: "path", required: true, schema: { type: "string", enum: DOCS_ASSET_NAMES } }],
				responses: {
					"200": { description: "The file.", content: { "*/*": { schema: { type: "string", format: "binary" } } } },
					"404": {
						description: "Not one of Swagger UI's files.",
						content: json(ref("Error"), { examples: { NOT_FOUND: { summary: "NOT_FOUND", value: errors.NOT_FOUND } } }),
					},
				},
			},
		},
	};
}

/** Files of swagger-ui-dist the /docs page loads (served by docs.ts). */
export const DOCS_ASSET_NAMES = ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"];

function identity(mode: AuthMode): string {
	return mode === "jwt"
		? "This gateway runs `AUTH_MODE=jwt`: every `/api` request carries `Authorization: Bearer <JWT>` (`sub` = user id, `exp` required); `X-User-ID` is ignored. A missing or bad token is 401 UNAUTHORIZED with `WWW-Authenticate: Bearer error=\"invalid_token\"`. Set it once with **Authorize**. `GET /api/auth/config` says the mode; `POST /api/auth/dev-token` issues demo tokens when on."
		: "This gateway runs `AUTH_MODE=header`: every `/api` request names its user in the header `X-User-ID: <integer ≥ 1>` (set by an authenticating proxy, or by hand in a local demo); missing or invalid is 401 UNAUTHORIZED. Set it once with **Authorize**. `GET /api/auth/config` says the mode.";
}

function description(mode: AuthMode): string {
	const event = JSON.stringify(examples.OrderUpdated, null, 2)
		.split("\n")
		.map(l => `    ${l}`)
		.join("\n");
	return `Order-and-payment backbone of an online shop: fund an account, place orders, and watch each order get paid (or refused) live.

## Identity
${identity(mode)}

## Money
Integers in minor units (kopecks); an \`amount\` is 1 to 10^12.

## Errors
Every error is JSON \`{ name, message, code, type, data? }\` with a stable \`type\` (see the Error schema); bad input is 400/422, never 500.

## Idempotency
\`Idempotency-Key\` (optional, 1 to 255 printable ASCII characters) on \`POST /api/orders\`, \`POST /api/orders/{id}/refund\` and \`POST /api/accounts/me/top-ups\`: a repeat with the same key and body returns the first response without a second effect; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED.

## Request ids
Send \`X-Request-ID\` to choose the id under which the request appears in logs and traces; every response carries it back (one is generated when you send none).

## Live updates (socket.io)
Connect socket.io to this server (path \`/socket.io\`) with \`auth: { token }\` (jwt mode; the socket is closed when the token expires) or, in header mode, an \`X-User-ID\` handshake header (set by a proxy) or \`auth: { userId }\` (local demo):

    const socket = io(origin, { path: "/socket.io", auth: { userId: 42 } });
    socket.on("order.updated", event => ...);

A missing or invalid identity refuses the handshake (\`connect_error\` with a readable message). The server emits **\`order.updated\`** to every socket of the order's user, and to no one else, each time an order changes status (schema OrderUpdated):

${event}

\`cancelReason\` (INSUFFICIENT_FUNDS or ACCOUNT_NOT_FOUND) is present only when \`status\` is CANCELLED. A push is a notification, not the record: after a reconnect, read the orders again.`;
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
		paths[path] = { ...(paths[path] ?? {}), [m]: apiOperation(m, path, params, action, input, errors) };
	}
	for (const route of Object.keys(input.authAliases.aliases)) {
		const path = toOpenApiPath(input.authAliases.prefix + route.split(/\s+/)[1]).path;
		if (!authPathDocs[path]) throw new Error(`openapi: no description of ${route} in openapi-auth.ts`);
		paths[path] = authPathDocs[path] as Record<string, unknown>;
	}
	Object.assign(paths, opsPaths(errors));
	return {
		openapi: OPENAPI_VERSION,
		info: { title: "Gozon API", version: input.version, description: description(input.authMode) },
		// Relative: the document works on whatever host and port serves it.
		servers: [{ url: "/", description: "This gateway" }],
		tags: [
			{ name: "Accounts", description: "The caller's account, top-ups and ledger (payments service)." },
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
					description: "Makes a retry safe: the same key and body return the first response with no second effect.",
					schema: { type: "string", minLength: 1, maxLength: 255, pattern: input.idempotencyKeyPattern },
				},
				RequestId: {
					name: "X-Request-ID",
					in: "header",
					required: false,
					description: "Your id for this request in logs and traces (one is generated when left out).",
					schema: { type: "string", maxLength: 255 },
				},
			},
			headers: {
				"X-Request-ID": { description: "The request's id in logs and traces.", schema: { type: "string" } },
			},
			schemas: { ...componentSchemas(), ...authSchemas() },
		},
	};
}
