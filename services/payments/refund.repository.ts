import type { Knex } from "knex";

type Fragment = { sql: string; bindings: unknown[] };

/** What a refund batch finds once it holds its locks. */
export interface RefundState {
	/** The recorded debit of each paid order of the batch: who paid, how much. */
	debits: Map<string, { userId: number; amount: number }>;
	/** Orders of the batch already refunded. */
	refunded: Set<string>;
	balances: Map<number, number>;
}

const paidOwners = `SELECT user_id FROM order_payments WHERE order_id = ANY(?::uuid[]) AND status = 'PAID'`;

/**
 * Round trip 1 of a refund batch: records the messages in the inbox and locks the accounts
 * that paid these orders, in user-id order like a payment batch (one lock order, no deadlock
 * between them). Returns the ids of the messages never seen before.
 */
export async function recordAndLockRefunds(
	trx: Knex.Transaction,
	inbox: Fragment,
	orderIds: string[],
): Promise<Set<string>> {
	const { rows } = await trx.raw(
		`WITH fresh AS (${inbox.sql}),
		locked AS (
			SELECT user_id FROM accounts WHERE user_id IN (${paidOwners}) ORDER BY user_id FOR UPDATE
		)
		SELECT (SELECT coalesce(array_agg(message_id), '{}') FROM fresh) AS fresh,
		       (SELECT count(*) FROM locked) AS locked`,
		[...inbox.bindings, orderIds] as Knex.RawBinding[],
	);
	return new Set(rows[0].fresh as string[]);
}

/**
 * Round trip 2, a statement of its own so that it reads after the locks were granted: a
 * concurrent batch that refunded one of these orders has committed by now, and its refund
 * row is seen here (one statement's snapshot is taken before it waits on a lock).
 */
export async function readRefundState(
	trx: Knex.Transaction,
	orderIds: string[],
): Promise<RefundState> {
	const { rows } = await trx.raw(
		`SELECT (SELECT coalesce(json_agg(json_build_array(order_id, user_id, amount)), '[]')
		           FROM order_payments WHERE order_id = ANY(?::uuid[]) AND status = 'PAID') AS debits,
		        (SELECT coalesce(json_agg(order_id), '[]') FROM order_refunds WHERE order_id = ANY(?::uuid[])) AS refunded,
		        (SELECT coalesce(json_agg(json_build_array(user_id, balance)), '[]')
		           FROM accounts WHERE user_id IN (${paidOwners})) AS balances`,
		[orderIds, orderIds, orderIds],
	);
	const row = rows[0];
	return {
		debits: new Map(
			(row.debits as [string, number, number][]).map(([orderId, userId, amount]) => [
				orderId,
				{ userId: Number(userId), amount: Number(amount) },
			]),
		),
		refunded: new Set(row.refunded as string[]),
		balances: new Map((row.balances as [number, number][]).map(([u, b]) => [Number(u), Number(b)])),
	};
}

export interface Credit {
	orderId: string;
	userId: number;
	amount: number;
	balanceAfter: number;
}

/**
 * Round trip 3: the refund rows, the new balances, the ORDER_REFUND ledger entries (in credit
 * order, so a user's running balance reads right) and the result messages — one statement.
 */
export async function saveRefunds(
	trx: Knex.Transaction,
	credits: Credit[],
	balances: Map<number, number>,
	outbox: Fragment,
): Promise<void> {
	await trx.raw(
		`WITH refunds AS (
			INSERT INTO order_refunds (order_id, user_id, amount)
			SELECT * FROM unnest(?::uuid[], ?::bigint[], ?::bigint[])
		), balances AS (
			UPDATE accounts a SET balance = v.balance, updated_at = now()
			  FROM unnest(?::bigint[], ?::bigint[]) AS v(user_id, balance)
			 WHERE a.user_id = v.user_id
		), ledger AS (
			INSERT INTO account_transactions (user_id, kind, amount, balance_after, order_id)
			SELECT e.user_id, 'ORDER_REFUND', e.amount, e.balance_after, e.order_id
			  FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::uuid[]) WITH ORDINALITY AS e(user_id, amount, balance_after, order_id, n)
			 ORDER BY e.n
		), messages AS (${outbox.sql})
		SELECT 1`,
		[
			credits.map(c => c.orderId),
			credits.map(c => c.userId),
			credits.map(c => c.amount),
			[...balances.keys()],
			[...balances.values()],
			credits.map(c => c.userId),
			credits.map(c => c.amount),
			credits.map(c => c.balanceAfter),
			credits.map(c => c.orderId),
			...outbox.bindings,
		] as Knex.RawBinding[],
	);
}
