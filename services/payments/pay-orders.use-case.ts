import type { Knex } from "knex";
import type { OrderToPay, PaymentResult } from "../../lib/contracts";
import { IncomingMessage, InboxStore, OutboxStore, Queues } from "../../lib/messaging";
import { AccountRow, insertLedgerEntries, LedgerEntry, lockAccounts, saveBalances } from "./account.repository";

const inbox = new InboxStore("payments.orders-to-pay");
const outbox = new OutboxStore();

export interface PaidBatch {
	results: PaymentResult[];
	duplicates: number;
	changedUsers: number[];
}

/**
 * Pays a batch of orders in ONE transaction: inbox rows (a redelivered message is skipped),
 * accounts locked with SELECT ... FOR UPDATE, debits and ledger entries (or refusals), and
 * the results in the outbox. The consumer acknowledges the messages only after the commit.
 * The order_payments primary key and the ledger's unique order_id make a second debit of
 * the same order impossible even if it arrived under another message id.
 */
export async function payOrders(knex: Knex, batch: IncomingMessage<OrderToPay>[]): Promise<PaidBatch> {
	return knex.transaction(async trx => {
		const fresh = await inbox.recordNew(
			trx,
			batch.map(m => m.messageId),
		);
		const requests = new Map<string, OrderToPay>();
		for (const m of batch) if (fresh.has(m.messageId)) requests.set(m.body.orderId, m.body);
		const decided = await trx("order_payments").whereIn("order_id", [...requests.keys()]).pluck("order_id");
		for (const id of decided) requests.delete(id);
		const duplicates = batch.length - requests.size;
		if (!requests.size) return { results: [], duplicates, changedUsers: [] };

		const accounts = await lockAccounts(
			trx,
			[...requests.values()].map(r => r.userId),
		);
		const results: PaymentResult[] = [];
		const ledger: LedgerEntry[] = [];
		const debited = new Map<number, AccountRow>();
		for (const r of requests.values()) {
			const account = debited.get(r.userId) ?? accounts.get(r.userId);
			if (!account) {
				results.push({ orderId: r.orderId, userId: r.userId, status: "REFUSED", reason: "ACCOUNT_NOT_FOUND" });
			} else if (account.balance < r.amount) {
				results.push({ orderId: r.orderId, userId: r.userId, status: "REFUSED", reason: "INSUFFICIENT_FUNDS" });
			} else {
				const balance = account.balance - r.amount;
				debited.set(r.userId, { ...account, balance });
				ledger.push({ user_id: r.userId, kind: "ORDER_PAYMENT", amount: -r.amount, balance_after: balance, order_id: r.orderId });
				results.push({ orderId: r.orderId, userId: r.userId, status: "PAID" });
			}
		}
		await trx("order_payments").insert(
			results.map(res => ({
				order_id: res.orderId,
				user_id: res.userId,
				amount: requests.get(res.orderId)!.amount,
				status: res.status,
				reason: res.reason ?? null,
			})),
		);
		await saveBalances(trx, [...debited.values()]);
		await insertLedgerEntries(trx, ledger);
		await outbox.add(trx, Queues.paymentResults, results);
		return { results, duplicates, changedUsers: [...debited.keys()] };
	});
}
