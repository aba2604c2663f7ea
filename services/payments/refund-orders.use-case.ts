import type { OrderToRefund, RefundResult } from "../../lib/contracts";
import { IncomingMessage, InboxStore, OutboxStore, Queues } from "../../lib/messaging";
import { AccountsBatch, accountsBatch } from "./accounts-batch";
import { Credit, readRefundState, recordAndLockRefunds, saveRefunds } from "./refund.repository";

const inbox = new InboxStore("payments.orders-to-refund");
const outbox = new OutboxStore();

export interface RefundedBatch extends AccountsBatch {
	credits: Credit[];
	/** REFUNDED sent again, for orders already refunded asked for under a new message id. */
	resent: RefundResult[];
	/** REFUND_REFUSED: no debit of that order, by that user, of that amount. */
	refused: RefundResult[];
}

/**
 * Refunds a batch of orders, an AccountsBatch over the paying accounts: for each order a credit,
 * its ORDER_REFUND ledger entry, its order_refunds row and a REFUNDED result. Payments trusts
 * only its own record: an order it never debited — or not for that user and amount — is refused
 * with no credit (REFUND_REFUSED, which orders logs and ignores). The order_refunds primary key
 * makes a second credit impossible even under a new message id; such a repeat (the stuck-order
 * sweeper asking again) is answered REFUNDED again, since the first answer may have been lost.
 */
export const refundOrders = accountsBatch(
	async (trx, batch: IncomingMessage<OrderToRefund>[]): Promise<RefundedBatch> => {
		const orderIds = [...new Set(batch.map(m => m.body.orderId))];
		const fresh = await recordAndLockRefunds(
			trx,
			inbox.recordNewFragment(batch.map(m => m.messageId)),
			orderIds,
		);
		const state = await readRefundState(trx, orderIds);

		const credits: Credit[] = [];
		const resent: RefundResult[] = [];
		const refused: RefundResult[] = [];
		const balances = new Map<number, number>();
		const answered = new Set<string>();
		for (const m of batch) {
			const { orderId, userId, amount } = m.body;
			if (!fresh.has(m.messageId)) continue;
			// Each refusal is answered, so that a forged request cannot shadow a real one for the
			// same order in the batch; a valid one is answered once per batch.
			const debit = state.debits.get(orderId);
			if (!debit || debit.userId !== userId || debit.amount !== amount) {
				refused.push({ orderId, userId, status: "REFUND_REFUSED", reason: "NOT_DEBITED" });
				continue;
			}
			if (answered.has(orderId)) continue;
			answered.add(orderId);
			if (state.refunded.has(orderId)) {
				resent.push({ orderId, userId, status: "REFUNDED" });
				continue;
			}
			const before = balances.get(userId) ?? state.balances.get(userId);
			// The debit proves the account existed, and accounts are never deleted.
			if (before === undefined) throw new Error(`account ${userId} of a paid order is missing`);
			balances.set(userId, before + amount);
			credits.push({ orderId, userId, amount, balanceAfter: before + amount });
		}
		const results: RefundResult[] = [
			...credits.map(c => ({ orderId: c.orderId, userId: c.userId, status: "REFUNDED" as const })),
			...resent,
			...refused,
		];
		if (results.length)
			await saveRefunds(
				trx,
				credits,
				balances,
				outbox.insertFragment(Queues.paymentResults, results),
			);
		return {
			credits,
			resent,
			refused,
			duplicates: batch.length - results.length,
			changedUsers: [...balances.keys()],
		};
	},
);
