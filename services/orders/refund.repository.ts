import type { Knex } from "knex";
import type { OrderRow } from "./order.repository";

type Fragment = { sql: string; bindings: unknown[] };

/**
 * Locks one of the user's orders for a status change. Concurrent refunds of the same order
 * queue on this lock and each reads the status the one before it committed, so exactly one
 * finds it FINISHED.
 */
export async function lockUserOrder(
	trx: Knex.Transaction,
	userId: number,
	id: string,
): Promise<OrderRow | undefined> {
	return trx("orders").where({ id, user_id: userId }).forUpdate().first();
}

/**
 * FINISHED → REFUNDING and the refund request (an outbox row) in ONE statement, on an order
 * the caller has locked and checked. A new refund is a fresh start for the stuck-order sweeper.
 */
export async function markRefunding(
	trx: Knex.Transaction,
	id: string,
	request: Fragment,
): Promise<OrderRow> {
	const { rows } = await trx.raw(
		`WITH o AS (
			UPDATE orders SET status = 'REFUNDING', updated_at = now(), sweep_attempts = 0, next_sweep_at = NULL
			 WHERE id = ? AND status = 'FINISHED'
			RETURNING *
		), m AS (${request.sql})
		SELECT * FROM o`,
		[id, ...request.bindings] as Knex.RawBinding[],
	);
	return rows[0];
}

/**
 * Records refund results in the inbox and applies the new REFUNDED ones — only
 * REFUNDING → REFUNDED — in ONE statement. A message without `refundedOrderId` (a refusal)
 * is recorded and changes nothing. Returns the new message ids and the orders that changed.
 */
export async function applyRefundResults(
	db: Knex,
	messages: { messageId: string; refundedOrderId?: string }[],
	inbox: Fragment,
): Promise<{ fresh: Set<string>; changed: OrderRow[] }> {
	if (!messages.length) return { fresh: new Set(), changed: [] };
	const refunded = messages.filter(m => m.refundedOrderId !== undefined);
	const { rows } = await db.raw(
		`WITH fresh AS (${inbox.sql}),
		r AS (
			SELECT r.* FROM unnest(?::text[], ?::uuid[]) AS r(message_id, id)
			 WHERE r.message_id IN (SELECT message_id FROM fresh)
		),
		changed AS (
			UPDATE orders o SET status = 'REFUNDED', updated_at = now()
			  FROM r WHERE o.id = r.id AND o.status = 'REFUNDING'
			RETURNING o.*
		)
		SELECT (SELECT coalesce(array_agg(message_id), '{}') FROM fresh) AS fresh,
		       (SELECT coalesce(json_agg(changed), '[]') FROM changed) AS changed`,
		[
			...inbox.bindings,
			refunded.map(m => m.messageId),
			refunded.map(m => m.refundedOrderId),
		] as Knex.RawBinding[],
	);
	const changed = (rows[0].changed as Record<string, any>[]).map(r => ({
		...r,
		created_at: new Date(r.created_at),
		updated_at: new Date(r.updated_at),
	})) as OrderRow[];
	return { fresh: new Set(rows[0].fresh as string[]), changed };
}
