import type { Knex } from "knex";
import type { OrderUpdated, PaymentResult } from "../../lib/contracts";
import type { IncomingMessage } from "../../lib/messaging";
import { InboxStore } from "../../lib/messaging";
import { applyResults, OrderRow } from "./order.repository";

const inbox = new InboxStore("orders.payment-results");

export interface AppliedResults {
	changed: OrderUpdated[];
	duplicates: number;
}

/**
 * Records the results in the inbox and moves their orders out of NEW, in one statement.
 * Redelivered messages, and results for orders already final, change nothing.
 */
export async function applyPaymentResults(
	knex: Knex,
	batch: IncomingMessage<PaymentResult>[],
): Promise<AppliedResults> {
	const { fresh, changed } = await applyResults(
		knex,
		batch.map(m => ({ messageId: m.messageId, result: m.body })),
		inbox.recordNewFragment(batch.map(m => m.messageId)),
	);
	return { changed: changed.map(toUpdate), duplicates: batch.length - fresh };
}

function toUpdate(row: OrderRow): OrderUpdated {
	const event: OrderUpdated = {
		orderId: row.id,
		userId: row.user_id,
		status: row.status,
		amount: row.amount,
		updatedAt: row.updated_at.toISOString(),
	};
	if (row.cancel_reason) event.cancelReason = row.cancel_reason;
	return event;
}
