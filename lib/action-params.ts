/**
 * The fastest-validator `params` of the public actions of orders and payments, in one place:
 * the services validate with them and the gateway's OpenAPI document derives its request
 * schemas from them (services/api/openapi/rules.ts), without constructing the services.
 */
import { MAX_AMOUNT } from "./contracts";

/**
 * The fastest-validator rules our params use. The OpenAPI converter knows exactly these and
 * refuses any other type or property, so a rule it cannot describe never goes unnoticed.
 */
export interface Rule {
	type: "number" | "string" | "uuid";
	optional?: boolean;
	/** number */
	integer?: boolean;
	positive?: boolean;
	convert?: boolean;
	/** number: the value; string: the length */
	min?: number;
	max?: number;
	/** string */
	trim?: boolean;
	pattern?: RegExp;
	messages?: Record<string, string>;
}

export type Params = Record<string, Rule>;

/** The largest page `limit` of a list. */
export const MAX_PAGE_SIZE = 1000;

/** Kopecks: an integer from 1 to MAX_AMOUNT, never converted from a string. */
const amount: Rule = { type: "number", integer: true, min: 1, max: MAX_AMOUNT, convert: false };

/** Entries per page of a list. */
const limit: Rule = {
	type: "number",
	integer: true,
	min: 1,
	max: MAX_PAGE_SIZE,
	convert: true,
	optional: true,
};

/** Any id that is not one of the caller's orders is 404, however malformed or long. */
const orderId: Rule = { type: "string", min: 1 };

export const ordersParams = {
	create: {
		amount,
		// PostgreSQL text cannot hold NUL: refuse it here rather than fail the INSERT with a 500.
		description: {
			type: "string",
			trim: true,
			min: 1,
			max: 500,
			// eslint-disable-next-line no-control-regex -- NUL is exactly what it refuses
			pattern: /^[^\u0000]*$/,
			messages: { stringPattern: "The 'description' field must not contain NUL characters." },
		},
	},
	list: { limit, before: { type: "uuid", optional: true } },
	get: { id: orderId },
	refund: { id: orderId },
} satisfies Record<string, Params>;

export const paymentsParams = {
	topUp: { amount },
	listTransactions: {
		limit,
		// The max keeps an out-of-range id a 422 rather than a bigint error (500).
		before: {
			type: "number",
			integer: true,
			min: 1,
			max: Number.MAX_SAFE_INTEGER,
			convert: true,
			optional: true,
		},
	},
} satisfies Record<string, Params>;

/** The params by full action name; an action not listed takes none. */
export const actionParams: Record<string, Params> = {
	...Object.fromEntries(Object.entries(ordersParams).map(([name, p]) => [`orders.${name}`, p])),
	...Object.fromEntries(Object.entries(paymentsParams).map(([name, p]) => [`payments.${name}`, p])),
};
