import type { Knex } from "knex";
import type { PaymentResult } from "../../lib/contracts";
import { runPrepared } from "../../lib/db/prepared";
import { Sql, sql } from "../../lib/db/sql";
import { balancesAndLedger } from "./account.repository";

/** What a payment batch finds under its locks: which messages are new, which orders already decided. */
export interface BatchState {
	fresh: Set<string>;
	/** The recorded decision of each order of the batch already decided, by order id. */
	decided: Map<string, PaymentResult>;
	balances: Map<number, number>;
}

/**
 * Round trip 1 of a payment batch: records the messages in the inbox, finds the orders
 * already decided, and locks the batch's accounts (in user-id order, so concurrent batches
 * never deadlock) — one statement.
 */
export async function recordAndLock(
	trx: Knex.Transaction,
	inbox: Sql,
	orderIds: string[],
	userIds: number[],
): Promise<BatchState> {
	const users = [...new Set(userIds)];
	const rows = await runPrepared<{
		fresh: string[];
		decided: [string, number, PaymentResult["status"], PaymentResult["reason"] | null][];
		balances: [number, number][];
	}>(
		trx,
		"payments.record-and-lock",
		sql`WITH fresh AS (${inbox}),
		locked AS (
			SELECT user_id, balance FROM accounts WHERE user_id = ANY(${users}::bigint[]) ORDER BY user_id FOR UPDATE
		)
		SELECT (SELECT coalesce(array_agg(message_id), '{}') FROM fresh) AS fresh,
		       (SELECT coalesce(json_agg(json_build_array(order_id, user_id, status, reason)), '[]')
		          FROM order_payments WHERE order_id = ANY(${orderIds}::uuid[])) AS decided,
		       (SELECT coalesce(json_agg(json_build_array(user_id, balance)), '[]') FROM locked) AS balances`,
	);
	const row = rows[0];
	return {
		fresh: new Set(row.fresh),
		decided: new Map(
			row.decided.map(([orderId, userId, status, reason]) => [
				orderId,
				reason
					? { orderId, userId: Number(userId), status, reason }
					: { orderId, userId: Number(userId), status },
			]),
		),
		balances: new Map(row.balances.map(([u, b]) => [Number(u), Number(b)])),
	};
}

export interface Decision {
	result: PaymentResult;
	amount: number;
	/** The balance after the debit, for a paid order. */
	balanceAfter?: number;
}

/**
 * Round trip 2: the decisions, the new balances, the ledger entries and the result messages —
 * one statement. Ledger rows are inserted in decision order, so a user's entries in one batch
 * keep their running balance.
 */
export async function saveDecisions(
	trx: Knex.Transaction,
	decisions: Decision[],
	balances: Map<number, number>,
	outbox: Sql,
): Promise<void> {
	const paid = decisions.filter(d => d.result.status === "PAID");
	const decided = {
		orderIds: decisions.map(d => d.result.orderId),
		userIds: decisions.map(d => d.result.userId),
		amounts: decisions.map(d => d.amount),
		statuses: decisions.map(d => d.result.status),
		reasons: decisions.map(d => d.result.reason ?? null),
	};
	const debits = {
		userIds: paid.map(d => d.result.userId),
		amounts: paid.map(d => -d.amount),
		balancesAfter: paid.map(d => d.balanceAfter!),
		orderIds: paid.map(d => d.result.orderId),
	};
	await runPrepared(
		trx,
		"payments.save-decisions",
		sql`WITH decided AS (
			INSERT INTO order_payments (order_id, user_id, amount, status, reason)
			SELECT * FROM unnest(${decided.orderIds}::uuid[], ${decided.userIds}::bigint[], ${decided.amounts}::bigint[], ${decided.statuses}::text[], ${decided.reasons}::text[])
		), ${balancesAndLedger("ORDER_PAYMENT", balances, debits)}, messages AS (${outbox})
		SELECT 1`,
	);
}
