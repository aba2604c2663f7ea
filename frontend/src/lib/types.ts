/** Shapes of the gateway's public contract (see shared/PRODUCT.md). Money is always integer kopecks. */

export interface Account {
	userId: number;
	balance: number;
	currency: string;
	createdAt: string;
	updatedAt: string;
}

export type LedgerKind = "TOP_UP" | "ORDER_PAYMENT" | "ORDER_REFUND";

export interface LedgerEntry {
	id: string | number;
	kind: LedgerKind;
	amount: number;
	balanceAfter: number;
	orderId?: string | null;
	createdAt: string;
}

export type OrderStatus = "NEW" | "FINISHED" | "CANCELLED" | "REFUNDING" | "REFUNDED";

export const ORDER_STATUSES: readonly OrderStatus[] = [
	"NEW",
	"FINISHED",
	"CANCELLED",
	"REFUNDING",
	"REFUNDED",
];

export type CancelReason = "INSUFFICIENT_FUNDS" | "ACCOUNT_NOT_FOUND";

export interface Order {
	id: string;
	userId: number;
	amount: number;
	description: string;
	status: OrderStatus;
	cancelReason?: CancelReason | null;
	createdAt: string;
	updatedAt: string;
}

/** GET /api/orders/summary: counted by the server over all of the user's orders. */
export interface OrderSummary {
	total: number;
	byStatus: Record<OrderStatus, number>;
	/** Sum of FINISHED amounts: a refunded order no longer counts. */
	spent: number;
}

/** Payload of the socket.io `order.updated` event. */
export interface OrderUpdatedEvent {
	orderId: string;
	userId: number | string;
	status: OrderStatus;
	amount: number;
	cancelReason?: CancelReason | null;
	updatedAt: string;
}

/** The JSON body of every error response. */
export interface ApiErrorBody {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}
