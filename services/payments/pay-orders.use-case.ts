import type { OrderToPay, PaymentResult } from "../../lib/contracts";
import { runSql } from "../../lib/db/sql";
import { IncomingMessage, InboxStore, OutboxStore, Queues } from "../../lib/messaging";
import { AccountsBatch, accountsBatch } from "./accounts-batch";
import { Decision, recordAndLock, saveDecisions } from "./payment.repository";

const inbox = new InboxStore("payments.orders-to-pay");
const outbox = new OutboxStore();

export interface PaidBatch extends AccountsBatch {
	/** Result messages written to the outbox: new decisions, and recorded ones sent again. */
	results: PaymentResult[];
	/** Recorded decisions sent again, for orders asked for under a new message id. */
	resent: PaymentResult[];
}

/**
 * Pays a batch of orders, an AccountsBatch of two statements: debits (or refusals) under the
 * account locks. The order_payments primary key and the ledger's unique order_id make a second
 * debit of the same order impossible even if it arrived under another message id. Such a repeat
 * (the stuck-order sweeper asking again) is answered with the recorded decision, through the
 * outbox like the first answer: the first may have been lost (dead-lettered), and orders ignores
 * a result for an order already final.
 */
export const payOrders = accountsBatch(
	async (trx, batch: IncomingMessage<OrderToPay>[]): Promise<PaidBatch> => {
		const state = await recordAndLock(
			trx,
			inbox.recordNewFragment(batch.map(m => m.messageId)),
			batch.map(m => m.body.orderId),
			batch.map(m => m.body.userId),
		);
		const requests = new Map<string, OrderToPay>();
		const resend = new Map<string, PaymentResult>();
		for (const m of batch) {
			if (!state.fresh.has(m.messageId)) continue;
			const recorded = state.decided.get(m.body.orderId);
			if (recorded) resend.set(m.body.orderId, recorded);
			else requests.set(m.body.orderId, m.body);
		}
		const resent = [...resend.values()];
		const duplicates = batch.length - requests.size;
		if (!requests.size) {
			if (resent.length) await runSql(trx, outbox.insertFragment(Queues.paymentResults, resent));
			return { results: resent, resent, duplicates, changedUsers: [] };
		}

		const decisions: Decision[] = [];
		const newBalances = new Map<number, number>();
		for (const r of requests.values()) {
			const balance = newBalances.get(r.userId) ?? state.balances.get(r.userId);
			const result: PaymentResult = { orderId: r.orderId, userId: r.userId, status: "PAID" };
			if (balance === undefined)
				Object.assign(result, { status: "REFUSED", reason: "ACCOUNT_NOT_FOUND" });
			else if (balance < r.amount)
				Object.assign(result, { status: "REFUSED", reason: "INSUFFICIENT_FUNDS" });
			else newBalances.set(r.userId, balance - r.amount);
			decisions.push({
				result,
				amount: r.amount,
				balanceAfter: result.status === "PAID" ? newBalances.get(r.userId) : undefined,
			});
		}
		const results = [...decisions.map(d => d.result), ...resent];
		await saveDecisions(
			trx,
			decisions,
			newBalances,
			outbox.insertFragment(Queues.paymentResults, results),
		);
		return { results, resent, duplicates, changedUsers: [...newBalances.keys()] };
	},
);
