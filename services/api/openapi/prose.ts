/**
 * What only a person can say: the meaning of each route and param, and the API's description.
 * Building the document fails if a routed action or one of its params has no entry here.
 */
import { MAX_PAGE_SIZE } from "../../../lib/action-params";
import { DEFAULT_PAGE_SIZE } from "../../../lib/cache";
import type { AuthMode } from "../../../lib/config";
import type { ErrorType } from "./error-examples";
import { examples } from "./examples";

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

/** The path param of the routes that name one order. */
const ORDER_ID_PARAM = { id: "The order's id (a UUID)." };

/** Docs of the public actions, by action name. */
export const operationDocs: Record<string, OperationDoc> = {
	"payments.createAccount": {
		tag: "Accounts",
		summary: "Open the caller's account",
		description:
			"Creates the account of the user named by X-User-ID with a zero balance in RUB. One account per user: a second call (also two racing calls) is 409.",
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
		description:
			"Adds `amount` kopecks to the balance and writes a TOP_UP ledger entry in one transaction; answers the account with the new balance. Send an Idempotency-Key to make a retry safe.",
		params: { amount: "Kopecks to add: an integer from 1 to 10^12." },
		response: "Account",
		errors: ["ACCOUNT_NOT_FOUND", "BALANCE_LIMIT_EXCEEDED", "IDEMPOTENCY_KEY_REUSED"],
		idempotencyKey: true,
	},
	"payments.listTransactions": {
		tag: "Accounts",
		summary: "List the caller's ledger, newest first",
		description:
			"Top-ups and order refunds (positive amounts) and order payments (negative amounts), each with the balance after it. Page with `limit` and `before`.",
		params: {
			limit: `Entries per page, 1 to ${MAX_PAGE_SIZE} (${DEFAULT_PAGE_SIZE} when left out).`,
			before: "The `id` of the last entry of the previous page, for the next (older) page.",
		},
		response: ["LedgerEntry"],
		errors: ["ACCOUNT_NOT_FOUND", "INVALID_CURSOR"],
	},
	"orders.create": {
		tag: "Orders",
		summary: "Place an order",
		description:
			"Stores the order as NEW and its payment request in one transaction and answers 202 at once: payments debits the account asynchronously, and the order becomes FINISHED or CANCELLED (watch `order.updated` on socket.io, or read the order again). Send an Idempotency-Key to make a retry safe.",
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
			limit: `Orders per page, 1 to ${MAX_PAGE_SIZE} (${DEFAULT_PAGE_SIZE} when left out).`,
			before: "The `id` of the last order of the previous page, for the next (older) page.",
		},
		response: ["Order"],
		errors: ["INVALID_CURSOR"],
	},
	"orders.get": {
		tag: "Orders",
		summary: "Read one of the caller's orders",
		description: "Another user's order is 404 too, as is any id that is not a UUID.",
		params: ORDER_ID_PARAM,
		response: "Order",
		errors: ["ORDER_NOT_FOUND"],
	},
	"orders.refund": {
		tag: "Orders",
		summary: "Refund a finished order",
		description:
			"Moves a FINISHED order of the caller to REFUNDING and stores its refund request in one transaction, and answers 202 at once: payments credits the amount back (once, whatever is retried) with an ORDER_REFUND ledger entry, and the order becomes REFUNDED (watch `order.updated`, or read it again). Any other status is 409 ORDER_NOT_REFUNDABLE, including a refund already under way or done; of many racing requests exactly one is accepted. Another user's order is 404. No body. Send an Idempotency-Key to make a retry safe.",
		params: ORDER_ID_PARAM,
		response: "Order",
		errors: ["ORDER_NOT_FOUND", "ORDER_NOT_REFUNDABLE", "IDEMPOTENCY_KEY_REUSED"],
		idempotencyKey: true,
	},
	"orders.summary": {
		tag: "Orders",
		summary: "Count the caller's orders by status",
		description:
			"All of the caller's orders, however many, counted by PostgreSQL: the total, the count per status (every status present, 0 included) and `spent`, the kopecks of the FINISHED orders (a refunded order no longer counts).",
		response: "OrderSummary",
		errors: [],
	},
};

function identity(mode: AuthMode): string {
	return mode === "jwt"
		? 'This gateway runs `AUTH_MODE=jwt`: every `/api` request carries `Authorization: Bearer <JWT>` (`sub` = user id, `exp` required); `X-User-ID` is ignored. A missing or bad token is 401 UNAUTHORIZED with `WWW-Authenticate: Bearer error="invalid_token"`. Set it once with **Authorize**. `GET /api/auth/config` says the mode; `POST /api/auth/dev-token` issues demo tokens when on.'
		: "This gateway runs `AUTH_MODE=header`: every `/api` request names its user in the header `X-User-ID: <integer ≥ 1>` (set by an authenticating proxy, or by hand in a local demo); missing or invalid is 401 UNAUTHORIZED. Set it once with **Authorize**. `GET /api/auth/config` says the mode.";
}

/** The document's description: how to call the API, for the running AUTH_MODE. */
export function apiDescription(mode: AuthMode): string {
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
