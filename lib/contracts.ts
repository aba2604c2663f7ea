/**
 * The messages between orders and payments, and the checks a consumer applies before
 * trusting one. A message that fails them is a poison message (dead-lettered at once).
 */
import { CANCEL_REASONS, ORDER_STATUSES, type CancelReason, type OrderStatus } from "./api-types";
import { PoisonMessageError } from "./messaging/consumer";

// The statuses and reasons are part of the API's bodies too: their home is lib/api-types.ts.
export { CANCEL_REASONS, ORDER_STATUSES, type CancelReason, type OrderStatus };

export const MAX_AMOUNT = 1_000_000_000_000;

const isOneOf = <T extends string>(list: readonly T[], v: unknown): v is T => list.includes(v as T);

/** orders.to_pay: orders asks payments to debit an order's amount. */
export interface OrderToPay {
	orderId: string;
	userId: number;
	amount: number;
}

/**
 * orders.to_refund: orders asks payments to give a FINISHED order's amount back. Payments
 * trusts only its own record of the debit: the userId and amount must match it.
 */
export type OrderToRefund = OrderToPay;

/** payment.results: payments answers with the debit or the refusal. */
export interface PaymentResult {
	orderId: string;
	userId: number;
	status: "PAID" | "REFUSED";
	reason?: CancelReason;
}

/**
 * payment.results, for a refund: REFUNDED once the credit is committed; REFUND_REFUSED when
 * payments holds no debit of that order for that user and amount (a forged or broken
 * request), which orders logs and otherwise ignores: the order is left as it is.
 */
export interface RefundResult {
	orderId: string;
	userId: number;
	status: "REFUNDED" | "REFUND_REFUSED";
	reason?: "NOT_DEBITED";
}

export const isRefundResult = (r: PaymentResult | RefundResult): r is RefundResult =>
	r.status === "REFUNDED" || r.status === "REFUND_REFUSED";

/** The Redis pub/sub event and the socket.io `order.updated` payload. */
export interface OrderUpdated {
	orderId: string;
	userId: number;
	status: OrderStatus;
	amount: number;
	cancelReason?: CancelReason;
	updatedAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (v: unknown): v is string => typeof v === "string" && UUID.test(v);
export const isUserId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
export const isAmount = (v: unknown): v is number =>
	Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_AMOUNT;

function object(body: unknown): Record<string, unknown> {
	if (!body || typeof body !== "object" || Array.isArray(body))
		throw new PoisonMessageError("body is not a JSON object");
	return body as Record<string, unknown>;
}

export function decodeOrderToPay(body: unknown): OrderToPay {
	const b = object(body);
	if (!isUuid(b.orderId)) throw new PoisonMessageError("orderId is not a UUID");
	if (!isUserId(b.userId)) throw new PoisonMessageError("userId is not a positive integer");
	if (!isAmount(b.amount))
		throw new PoisonMessageError(`amount is not an integer in 1..${MAX_AMOUNT}`);
	return { orderId: b.orderId, userId: b.userId, amount: b.amount };
}

/** The same fields and bounds as a payment request. */
export const decodeOrderToRefund: (body: unknown) => OrderToRefund = decodeOrderToPay;

export function decodePaymentResult(body: unknown): PaymentResult | RefundResult {
	const b = object(body);
	if (!isUuid(b.orderId)) throw new PoisonMessageError("orderId is not a UUID");
	if (!isUserId(b.userId)) throw new PoisonMessageError("userId is not a positive integer");
	if (b.status === "PAID" && b.reason === undefined)
		return { orderId: b.orderId, userId: b.userId, status: "PAID" };
	if (b.status === "REFUSED" && isOneOf(CANCEL_REASONS, b.reason))
		return { orderId: b.orderId, userId: b.userId, status: "REFUSED", reason: b.reason };
	if (b.status === "REFUNDED" && b.reason === undefined)
		return { orderId: b.orderId, userId: b.userId, status: "REFUNDED" };
	if (b.status === "REFUND_REFUSED" && b.reason === "NOT_DEBITED")
		return {
			orderId: b.orderId,
			userId: b.userId,
			status: "REFUND_REFUSED",
			reason: "NOT_DEBITED",
		};
	throw new PoisonMessageError(
		"status/reason is not PAID, REFUSED with a known reason, REFUNDED, or REFUND_REFUSED NOT_DEBITED",
	);
}

/**
 * A status channel message as the `order.updated` payload, with only the contract's fields.
 * Throws an Error saying what is wrong (the gateway logs it and drops the message).
 */
export function parseOrderUpdated(raw: string): OrderUpdated {
	const b = JSON.parse(raw) as Record<string, unknown>;
	if (!b || typeof b !== "object" || Array.isArray(b)) throw new Error("not a JSON object");
	if (!isUuid(b.orderId)) throw new Error("orderId is not a UUID");
	if (!isUserId(b.userId)) throw new Error("userId is not a positive integer");
	if (!isOneOf(ORDER_STATUSES, b.status))
		throw new Error(`status is not one of ${ORDER_STATUSES.join(", ")}`);
	if (!isAmount(b.amount)) throw new Error("amount is out of range");
	if (typeof b.updatedAt !== "string" || Number.isNaN(Date.parse(b.updatedAt)))
		throw new Error("updatedAt is not a date");
	const event: OrderUpdated = {
		orderId: b.orderId,
		userId: b.userId,
		status: b.status,
		amount: b.amount,
		updatedAt: b.updatedAt,
	};
	if (b.cancelReason !== undefined) {
		if (b.status !== "CANCELLED" || !isOneOf(CANCEL_REASONS, b.cancelReason))
			throw new Error("cancelReason is not a known reason of a CANCELLED order");
		event.cancelReason = b.cancelReason;
	}
	return event;
}

/** Redis channel of order status changes (documented in the README). */
export const orderStatusChannel = (redisPrefix: string) => `${redisPrefix}order-status`;
