/**
 * Every error a client can see, in one place. Each has a stable `type` the UI switches on
 * and a message a person can read. Anything else reaching the gateway becomes a plain 500
 * without details (see `toPublicError`).
 */
import { Errors } from "moleculer";
import { isTransientError } from "./transient";

const { MoleculerClientError, ValidationError } = Errors;

export const ErrorTypes = {
	UNAUTHORIZED: "UNAUTHORIZED",
	VALIDATION_ERROR: "VALIDATION_ERROR",
	INVALID_JSON: "INVALID_JSON",
	PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
	UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
	/** moleculer-web's own: a path parameter with broken %-encoding (400). */
	UNABLE_DECODE_PARAM: "UNABLE_DECODE_PARAM",
	ACCOUNT_EXISTS: "ACCOUNT_EXISTS",
	ACCOUNT_NOT_FOUND: "ACCOUNT_NOT_FOUND",
	ORDER_NOT_FOUND: "ORDER_NOT_FOUND",
	ORDER_NOT_REFUNDABLE: "ORDER_NOT_REFUNDABLE",
	BALANCE_LIMIT_EXCEEDED: "BALANCE_LIMIT_EXCEEDED",
	IDEMPOTENCY_KEY_REUSED: "IDEMPOTENCY_KEY_REUSED",
	INVALID_IDEMPOTENCY_KEY: "INVALID_IDEMPOTENCY_KEY",
	INVALID_CURSOR: "INVALID_CURSOR",
	NOT_FOUND: "NOT_FOUND",
	RATE_LIMITED: "RATE_LIMITED",
	SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
	INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;

export class UnauthorizedError extends MoleculerClientError {
	constructor(message = "Header X-User-ID must be a positive integer") {
		super(message, 401, ErrorTypes.UNAUTHORIZED);
	}
}

/** What RFC 6750 says a resource server answers to a bad or missing Bearer token. */
export const BEARER_CHALLENGE = 'Bearer error="invalid_token"';

/**
 * jwt mode: the Bearer token is missing or does not verify. The message says what was wrong
 * (never the token itself); the gateway adds the WWW-Authenticate challenge.
 */
export class InvalidTokenError extends MoleculerClientError {
	readonly challenge = BEARER_CHALLENGE;
	constructor(reason: string) {
		super(reason, 401, ErrorTypes.UNAUTHORIZED);
		this.name = "UnauthorizedError";
	}
}

/** The development token issuer is off (AUTH_DEV_TOKENS). */
export class DevTokensOffError extends MoleculerClientError {
	constructor() {
		super(
			"Development tokens are off: the gateway runs without AUTH_DEV_TOKENS=true",
			404,
			ErrorTypes.NOT_FOUND,
		);
	}
}

export class AccountExistsError extends MoleculerClientError {
	constructor(userId: number) {
		super("Account already exists", 409, ErrorTypes.ACCOUNT_EXISTS, { userId });
	}
}

export class AccountNotFoundError extends MoleculerClientError {
	constructor(userId: number) {
		super("Account not found: create it first", 404, ErrorTypes.ACCOUNT_NOT_FOUND, { userId });
	}
}

export class OrderNotFoundError extends MoleculerClientError {
	constructor(orderId: string) {
		super("Order not found", 404, ErrorTypes.ORDER_NOT_FOUND, { orderId });
	}
}

/** Only a FINISHED order can be refunded (a NEW one is not paid yet; the others are final or under way). */
export class OrderNotRefundableError extends MoleculerClientError {
	constructor(orderId: string, status: string) {
		super(
			`Only a FINISHED order can be refunded; this one is ${status}`,
			409,
			ErrorTypes.ORDER_NOT_REFUNDABLE,
			{ orderId, status },
		);
	}
}

export class BalanceLimitError extends MoleculerClientError {
	constructor(maxBalance: number) {
		super(`A balance cannot exceed ${maxBalance} kopecks`, 422, ErrorTypes.BALANCE_LIMIT_EXCEEDED, {
			maxBalance,
		});
	}
}

export class IdempotencyKeyReusedError extends MoleculerClientError {
	constructor() {
		super(
			"This Idempotency-Key was already used with a different request body",
			422,
			ErrorTypes.IDEMPOTENCY_KEY_REUSED,
		);
	}
}

export class InvalidIdempotencyKeyError extends MoleculerClientError {
	constructor() {
		super(
			"Header Idempotency-Key must be 1 to 255 printable characters",
			422,
			ErrorTypes.INVALID_IDEMPOTENCY_KEY,
		);
	}
}

/** A JSON body nested deeper than any request of the API needs (it would overflow JSON.stringify). */
export class BodyTooDeepError extends MoleculerClientError {
	constructor(maxDepth: number) {
		super(
			`Request body is nested too deeply (${maxDepth} levels at most)`,
			400,
			ErrorTypes.INVALID_JSON,
			{ maxDepth },
		);
	}
}

export class InvalidCursorError extends MoleculerClientError {
	constructor() {
		super(
			"Parameter before must be the id of an item of a previous page",
			422,
			ErrorTypes.INVALID_CURSOR,
		);
	}
}

/** The caller used up its request rate (RATE_LIMIT_PER_USER_PER_S, RATE_LIMIT_BURST). */
export class RateLimitedError extends MoleculerClientError {
	/** Response headers the gateway sets with this error. */
	readonly headers: Record<string, string>;

	constructor(retryAfterSeconds: number) {
		super(`Too many requests: try again in ${retryAfterSeconds} s`, 429, ErrorTypes.RATE_LIMITED, {
			retryAfter: retryAfterSeconds,
		});
		this.headers = { "Retry-After": String(retryAfterSeconds) };
	}
}

/** Seconds a client should wait before retrying a 503 (sent as Retry-After). */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/** The JSON body every error response has. */
export interface PublicError {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}

const UNAVAILABLE = new Set([
	"ServiceNotAvailableError",
	"ServiceNotFoundError",
	"RequestTimeoutError",
	"RequestRejectedError",
	"ServiceUnavailableError",
	"BrokerDisconnectedError",
]);

const ZLIB_ERROR = /^(Z_|ERR__|ZSTD_error_)/;

/** body-parser's own error types, as moleculer-web passes them on. */
const BODY_PARSER_ERRORS: Record<string, PublicError> = {
	"entity.parse.failed": {
		name: "BadRequestError",
		message: "Request body is not valid JSON",
		code: 400,
		type: ErrorTypes.INVALID_JSON,
	},
	"entity.too.large": {
		name: "PayloadTooLargeError",
		message: "Request body is too large (16 kB at most)",
		code: 413,
		type: ErrorTypes.PAYLOAD_TOO_LARGE,
	},
	"encoding.unsupported": {
		name: "UnsupportedMediaTypeError",
		message: "Unsupported content encoding",
		code: 415,
		type: ErrorTypes.UNSUPPORTED_MEDIA_TYPE,
	},
	"charset.unsupported": {
		name: "UnsupportedMediaTypeError",
		message: "Unsupported charset",
		code: 415,
		type: ErrorTypes.UNSUPPORTED_MEDIA_TYPE,
	},
};

/**
 * What a client may see of an error. Client errors (4xx) pass through with their type;
 * validation errors keep the list of failed fields; everything else is a bare 500/503 so
 * that no SQL, stack or internal name leaks out.
 */
export function toPublicError(err: unknown): PublicError {
	const v = err as { name?: string; data?: unknown };
	if (err instanceof ValidationError || v?.name === "ValidationError") {
		const fields = Array.isArray(v.data)
			? v.data.map((d: { field?: string; message?: string; type?: string }) => ({
					field: d.field,
					message: d.message,
					type: d.type,
				}))
			: undefined;
		const message = fields?.length
			? fields.map(f => f.message).join("; ")
			: "Parameters validation error";
		return { name: "ValidationError", message, code: 422, type: "VALIDATION_ERROR", data: fields };
	}
	// Errors from other nodes arrive as plain Errors carrying name, code, type and data.
	const e = err as {
		code?: unknown;
		type?: unknown;
		name?: string;
		message?: string;
		data?: unknown;
	};
	const bodyError = typeof e?.type === "string" ? BODY_PARSER_ERRORS[e.type] : undefined;
	if (bodyError) return bodyError;
	// A gzip/deflate/br/zstd body that does not decode: body-parser passes zlib's error on
	// (codes Z_* for gzip and deflate, ERR__* for brotli, ZSTD_error_* for zstd).
	if (typeof e?.code === "string" && ZLIB_ERROR.test(e.code))
		return {
			name: "BadRequestError",
			message: "Request body could not be decoded (Content-Encoding)",
			code: 400,
			type: ErrorTypes.INVALID_JSON,
		};
	// No node of the service could take the call (Moleculer gives some of these a 404 code),
	// or the database is restarting, failing over or overloaded (it arrives from the service's
	// node with PostgreSQL's code): the client should retry, so this is a 503, never a 500.
	if (e && (e.code === 503 || UNAVAILABLE.has(e.name ?? "") || isTransientError(e)))
		return {
			name: "ServiceUnavailableError",
			message: "The service is temporarily unavailable, try again shortly",
			code: 503,
			type: ErrorTypes.SERVICE_UNAVAILABLE,
		};
	if (typeof e?.code === "number" && e.code >= 400 && e.code < 500 && typeof e.type === "string") {
		const out: PublicError = {
			name: e.name ?? "ClientError",
			message: e.message ?? "",
			code: e.code,
			type: e.type,
		};
		if (e.data !== undefined) out.data = e.data;
		return out;
	}
	return {
		name: "InternalServerError",
		message: "Internal server error",
		code: 500,
		type: ErrorTypes.INTERNAL_ERROR,
	};
}
