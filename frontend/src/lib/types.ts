/** Shapes of the gateway's public contract (see shared/PRODUCT.md). Money is always integer kopecks. */

export interface Account {
	userId: number;
	balance: number;
	currency: string;
	createdAt: string;
	updatedAt: string;
}

export type LedgerKind = "TOP_UP" | "ORDER_PAYMENT";

export interface LedgerEntry {
	id: string | number;
	kind: LedgerKind;
	amount: number;
	balanceAfter: number;
	orderId?: string | null;
	createdAt: string;
}

export type OrderStatus = "NEW" | "FINISHED" | "CANCELLED";

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
