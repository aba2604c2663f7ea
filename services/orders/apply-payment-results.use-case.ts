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
 * Records the results in the inbox and moves their orders out of NEW, in one transaction.
 * Redelivered messages, and results for orders already final, change nothing.
 */
export async function applyPaymentResults(
	knex: Knex,
	batch: IncomingMessage<PaymentResult>[],
): Promise<AppliedResults> {
	return knex.transaction(async trx => {
		const fresh = await inbox.recordNew(
			trx,
			batch.map(m => m.messageId),
		);
		const seen = new Set<string>();
		const results = batch.filter(m => {
			if (!fresh.has(m.messageId) || seen.has(m.messageId)) return false;
			seen.add(m.messageId);
			return true;
		});
		const rows = await applyResults(
			trx,
			results.map(m => m.body),
		);
		return { changed: rows.map(toUpdate), duplicates: batch.length - results.length };
	});
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
