/**
 * The error bodies of the document: a real one of every type, made by the gateway's own
 * `toPublicError` from the real error classes, and a real validation failure of an action's params.
 */
import { Errors, Validators } from "moleculer";
import ApiGateway from "moleculer-web";
import type { Params, Rule } from "../../../lib/action-params";
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
} from "../../../lib/errors";
import { SAMPLE_ORDER, SAMPLE_USER } from "./examples";

export type ErrorType = keyof typeof ErrorTypes;

const { BadRequestError, NotFoundError } = ApiGateway.Errors;

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
		UNABLE_DECODE_PARAM: toPublicError(
			new BadRequestError(ErrorTypes.UNABLE_DECODE_PARAM, { param: "%E0%A4%A" }),
		),
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
	switch (rule.type) {
		case "number":
			return rule.min !== undefined ? rule.min - 1 : "not a number";
		case "string":
			return rule.min ? "" : 42;
		case "uuid":
			return "not-a-uuid";
	}
}

/** The 422 body the action's own validator gives for a bad first field. */
export function validationExample(params: Params): PublicError | undefined {
	const field = Object.keys(params)[0];
	if (!field) return undefined;
	try {
		new Validators.Fastest().validate({ [field]: badValue(params[field]) }, params);
	} catch (err) {
		const body = toPublicError(err);
		const mine = (body.data as { field: string }[]).filter(d => d.field === field);
		return {
			...body,
			message: mine.map(d => (d as unknown as { message: string }).message).join("; "),
			data: mine,
		};
	}
	return undefined;
}
