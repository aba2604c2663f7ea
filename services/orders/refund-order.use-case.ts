import type { Knex } from "knex";
import { isUuid, OrderToRefund, OrderUpdated } from "../../lib/contracts";
import { runIdempotent } from "../../lib/db/idempotency.store";
import { OrderNotFoundError, OrderNotRefundableError } from "../../lib/errors";
import { OutboxStore, Queues } from "../../lib/messaging";
import type { Order } from "../../lib/api-types";
import { toOrder } from "./order.repository";
import { orderUpdated } from "./order-status.publisher";
import { lockUserOrder, markRefunding } from "./refund.repository";

export interface RefundRequest {
	userId: number;
	orderId: string;
	idempotencyKey?: string;
}

export interface RefundOutcome {
	order: Order;
	/** The status change to announce; absent when a repeated Idempotency-Key got the stored answer. */
	changed?: OrderUpdated;
}

const outbox = new OutboxStore();

/**
 * Moves a FINISHED order of the caller to REFUNDING and writes the refund request for
 * payments to the outbox, in ONE transaction: as with a new order, the request can neither
 * go out for a status change that did not commit nor be lost after it did. Payments credits
 * the account once (order_refunds) and answers REFUNDED; the order then becomes REFUNDED.
 * Another user's order, or any id that is not one of theirs, is "not found".
 */
export async function refundOrder(knex: Knex, input: RefundRequest): Promise<RefundOutcome> {
	const { userId, orderId, idempotencyKey } = input;
	let changed: OrderUpdated | undefined;
	const refund = async (trx: Knex.Transaction) => {
		const row = isUuid(orderId) ? await lockUserOrder(trx, userId, orderId) : undefined;
		if (!row) throw new OrderNotFoundError(orderId);
		if (row.status !== "FINISHED") throw new OrderNotRefundableError(orderId, row.status);
		const request: OrderToRefund = { orderId: row.id, userId, amount: row.amount };
		const refunding = await markRefunding(
			trx,
			row.id,
			outbox.insertFragment(Queues.ordersToRefund, [request]),
		);
		changed = orderUpdated(refunding);
		return toOrder(refunding);
	};
	const order = await runIdempotent(
		knex,
		{ scope: "orders.refund", userId, key: idempotencyKey, body: { id: orderId } },
		refund,
	);
	return { order, changed };
}
