import type { Knex } from "knex";
import type { OrderToPay, PaymentResult } from "../../lib/contracts";
import { runPrepared } from "../../lib/db/prepared";
import { Sql, sql } from "../../lib/db/sql";
import type { OutboxStore } from "../../lib/messaging";

/** What one payment batch did. */
export interface PaidRows {
	/** Messages of the batch that were new and asked for an order not yet decided. */
	decided: number;
	/** Recorded decisions sent again (an order asked for under a new message id). */
	resent: PaymentResult[];
	/** Users whose balance changed. */
	changedUsers: number[];
	/** The result messages written to the outbox, as `OutboxStore.inserted` takes them. */
	messages: { message_id: string; payload: unknown }[];
}

/**
 * A whole payment batch in ONE statement, run on its own (its own transaction, one round trip,
 * no BEGIN or COMMIT): each step below is a CTE.
 * - `fresh`: the inbox rows; a message already recorded is a duplicate and does nothing.
 * - `locked`: the batch's accounts, locked in user-id order (`FOR UPDATE`, so concurrent batches
 *   never deadlock); under READ COMMITTED a locked row is the latest committed version, so the
 *   balances below include every batch that committed before this one got its locks.
 * - `todo`: each new order once, in the batch's order, unless already decided (`decided`: an
 *   order asked for again under a new message id gets its recorded decision sent again).
 * - `walk`: the payment rule, per user in the batch's order: an order is PAID when the balance
 *   left by the orders before it covers it, otherwise REFUSED for INSUFFICIENT_FUNDS (a refusal
 *   leaves the balance as it was); a user with no account is REFUSED for ACCOUNT_NOT_FOUND.
 * - then the decisions (order_payments, whose primary key makes a second debit impossible), the
 *   new balances, the ledger (in the batch's order, so each entry's balance_after reads right)
 *   and the results in the outbox.
 */
export async function payBatch(
	knex: Knex,
	inbox: (messageIds: string[]) => Sql,
	outbox: OutboxStore,
	queue: string,
	batch: { messageId: string; body: OrderToPay; resultId: string }[],
): Promise<PaidRows> {
	const messageIds = batch.map(m => m.messageId);
	const results = sql`
		SELECT d.result_id AS message_id,
		       jsonb_strip_nulls(jsonb_build_object('orderId', d.order_id, 'userId', d.user_id, 'status', d.status, 'reason', d.reason)) AS payload
		  FROM (SELECT result_id, order_id, user_id, status, reason, n FROM decisions
		        UNION ALL SELECT result_id, order_id, user_id, status, reason, n FROM resend) d
		 ORDER BY d.n`;
	const statement = sql`WITH RECURSIVE fresh AS (${inbox(messageIds)}),
		req AS (
			SELECT r.* FROM unnest(${messageIds}::text[], ${batch.map(m => m.body.orderId)}::uuid[],
			                       ${batch.map(m => m.body.userId)}::bigint[], ${batch.map(m => m.body.amount)}::bigint[],
			                       ${batch.map(m => m.resultId)}::uuid[])
			       WITH ORDINALITY AS r(message_id, order_id, user_id, amount, result_id, n)
			 WHERE r.message_id IN (SELECT message_id FROM fresh)
		),
		firsts AS (SELECT DISTINCT ON (order_id) * FROM req ORDER BY order_id, n),
		locked AS (
			SELECT user_id, balance FROM accounts
			 WHERE user_id IN (SELECT user_id FROM firsts) ORDER BY user_id FOR UPDATE
		),
		decided AS (
			SELECT order_id, user_id, status, reason FROM order_payments
			 WHERE order_id IN (SELECT order_id FROM firsts)
		),
		resend AS (
			SELECT f.result_id, d.order_id, d.user_id, d.status, d.reason, f.n
			  FROM firsts f JOIN decided d ON d.order_id = f.order_id
		),
		todo AS (
			SELECT f.*, row_number() OVER (PARTITION BY f.user_id ORDER BY f.n) AS k FROM firsts f
			 WHERE f.order_id NOT IN (SELECT order_id FROM decided)
		),
		walk (user_id, k, balance, order_id, paid) AS (
			SELECT user_id, 0::bigint, balance, NULL::uuid, NULL::boolean FROM locked
			UNION ALL
			SELECT w.user_id, t.k, CASE WHEN w.balance >= t.amount THEN w.balance - t.amount ELSE w.balance END,
			       t.order_id, w.balance >= t.amount
			  FROM walk w JOIN todo t ON t.user_id = w.user_id AND t.k = w.k + 1
		),
		decisions AS (
			SELECT t.result_id, t.order_id, t.user_id, t.amount, t.n, w.balance AS balance_after,
			       CASE WHEN w.paid THEN 'PAID' ELSE 'REFUSED' END AS status,
			       CASE WHEN w.order_id IS NULL THEN 'ACCOUNT_NOT_FOUND'
			            WHEN NOT w.paid THEN 'INSUFFICIENT_FUNDS' END AS reason
			  FROM todo t LEFT JOIN walk w ON w.order_id = t.order_id
		),
		recorded AS (
			INSERT INTO order_payments (order_id, user_id, amount, status, reason)
			SELECT order_id, user_id, amount, status, reason FROM decisions ORDER BY n
		),
		paid AS (SELECT * FROM decisions WHERE status = 'PAID'),
		balances AS (
			UPDATE accounts a SET balance = v.balance, updated_at = now()
			  FROM (SELECT DISTINCT ON (user_id) user_id, balance_after AS balance FROM paid ORDER BY user_id, n DESC) v
			 WHERE a.user_id = v.user_id
		),
		ledger AS (
			INSERT INTO account_transactions (user_id, kind, amount, balance_after, order_id)
			SELECT user_id, 'ORDER_PAYMENT', -amount, balance_after, order_id FROM paid ORDER BY n
		),
		messages AS (${outbox.insertRowsFragment(queue, results)})
		SELECT (SELECT count(*)::int FROM todo) AS decided,
		       (SELECT coalesce(json_agg(json_build_array(order_id, user_id, status, reason) ORDER BY n), '[]') FROM resend) AS resent,
		       (SELECT coalesce(array_agg(DISTINCT user_id), '{}') FROM paid) AS changed_users,
		       (SELECT coalesce(json_agg(json_build_object('message_id', message_id, 'payload', payload)), '[]') FROM messages) AS messages`;
	const [row] = await runPrepared<{
		decided: number;
		resent: [string, number, PaymentResult["status"], PaymentResult["reason"] | null][];
		changed_users: (number | string)[];
		messages: { message_id: string; payload: unknown }[];
	}>(knex, "payments.pay-batch", statement);
	return {
		decided: row.decided,
		resent: row.resent.map(([orderId, userId, status, reason]) =>
			reason
				? { orderId, userId: Number(userId), status, reason }
				: { orderId, userId: Number(userId), status },
		),
		changedUsers: row.changed_users.map(Number),
		messages: row.messages,
	};
}
