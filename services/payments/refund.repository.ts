import type { Knex } from "knex";
import { runSql, Sql, sql } from "../../lib/db/sql";
import { balancesAndLedger } from "./account.repository";

/** What a refund batch finds once it holds its locks. */
export interface RefundState {
	/** The recorded debit of each paid order of the batch: who paid, how much. */
	debits: Map<string, { userId: number; amount: number }>;
	/** Orders of the batch already refunded. */
	refunded: Set<string>;
	balances: Map<number, number>;
}

const paidOwners = (orderIds: string[]) =>
	sql`SELECT user_id FROM order_payments WHERE order_id = ANY(${orderIds}::uuid[]) AND status = 'PAID'`;

/**
 * Round trip 1 of a refund batch: records the messages in the inbox and locks the accounts
 * that paid these orders, in user-id order like a payment batch (one lock order, no deadlock
 * between them). Returns the ids of the messages never seen before.
 */
export async function recordAndLockRefunds(
	trx: Knex.Transaction,
	inbox: Sql,
	orderIds: string[],
): Promise<Set<string>> {
	const rows = await runSql<{ fresh: string[] }>(
		trx,
		sql`WITH fresh AS (${inbox}),
		locked AS (
			SELECT user_id FROM accounts WHERE user_id IN (${paidOwners(orderIds)}) ORDER BY user_id FOR UPDATE
		)
		SELECT (SELECT coalesce(array_agg(message_id), '{}') FROM fresh) AS fresh,
		       (SELECT count(*) FROM locked) AS locked`,
	);
	return new Set(rows[0].fresh);
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
	const rows = await runSql<{
		debits: [string, number, number][];
		refunded: string[];
		balances: [number, number][];
	}>(
		trx,
		sql`SELECT (SELECT coalesce(json_agg(json_build_array(order_id, user_id, amount)), '[]')
		           FROM order_payments WHERE order_id = ANY(${orderIds}::uuid[]) AND status = 'PAID') AS debits,
		        (SELECT coalesce(json_agg(order_id), '[]') FROM order_refunds WHERE order_id = ANY(${orderIds}::uuid[])) AS refunded,
		        (SELECT coalesce(json_agg(json_build_array(user_id, balance)), '[]')
		           FROM accounts WHERE user_id IN (${paidOwners(orderIds)})) AS balances`,
	);
	const row = rows[0];
	return {
		debits: new Map(
			row.debits.map(([orderId, userId, amount]) => [
				orderId,
				{ userId: Number(userId), amount: Number(amount) },
			]),
		),
		refunded: new Set(row.refunded),
		balances: new Map(row.balances.map(([u, b]) => [Number(u), Number(b)])),
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
	outbox: Sql,
): Promise<void> {
	const entries = {
		userIds: credits.map(c => c.userId),
		amounts: credits.map(c => c.amount),
		balancesAfter: credits.map(c => c.balanceAfter),
		orderIds: credits.map(c => c.orderId),
	};
	await runSql(
		trx,
		sql`WITH refunds AS (
			INSERT INTO order_refunds (order_id, user_id, amount)
			SELECT * FROM unnest(${entries.orderIds}::uuid[], ${entries.userIds}::bigint[], ${entries.amounts}::bigint[])
		), ${balancesAndLedger("ORDER_REFUND", balances, entries)}, messages AS (${outbox})
		SELECT 1`,
	);
}
