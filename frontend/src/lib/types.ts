/** Shapes of the gateway's public contract (see shared/PRODUCT.md). Money is always integer kopecks. */

// The bodies the API answers with have one home, shared with the services. Type-only: the
// dashboard's bundle takes nothing from the server's code.
export type {
	Account,
	CancelReason,
	LedgerEntry,
	LedgerKind,
	Order,
	OrderStatus,
	OrderSummary,
} from "../../../lib/api-types";
import type { CancelReason, OrderStatus } from "../../../lib/api-types";

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
