/**
 * The public shapes of the API's JSON bodies, one home for both sides: the services build them
 * and the dashboard reads them (frontend/src/lib/types.ts imports this file type-only). It
 * imports nothing, so the dashboard's type check never reaches server code. Money is always
 * integer kopecks; times are ISO 8601 strings.
 */

/** Every order status, in the order of an order's life (metrics, the summary, the push check, the API's enums). */
export const ORDER_STATUSES = ["NEW", "FINISHED", "CANCELLED", "REFUNDING", "REFUNDED"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
/** Why payments refused an order (it is CANCELLED with this reason). */
export const CANCEL_REASONS = ["INSUFFICIENT_FUNDS", "ACCOUNT_NOT_FOUND"] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export interface Account {
	userId: number;
	balance: number;
	currency: string;
	createdAt: string;
	updatedAt: string;
}

export type LedgerKind = "TOP_UP" | "ORDER_PAYMENT" | "ORDER_REFUND";

export interface LedgerEntry {
	id: number;
	kind: LedgerKind;
	amount: number;
	balanceAfter: number;
	orderId?: string;
	createdAt: string;
}

export interface Order {
	id: string;
	userId: number;
	amount: number;
	description: string;
	status: OrderStatus;
	cancelReason?: CancelReason;
	createdAt: string;
	updatedAt: string;
}

/** GET /api/orders/summary: counted by the server over all of the user's orders. */
export interface OrderSummary {
	total: number;
	byStatus: Record<OrderStatus, number>;
	/** Kopecks of the FINISHED orders: paid and not refunded. */
	spent: number;
}
