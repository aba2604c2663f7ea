import type { Knex } from "knex";
import type { Order } from "../../lib/api-types";
import type { CancelReason, OrderStatus, PaymentResult } from "../../lib/contracts";
import { runPrepared } from "../../lib/db/prepared";
import { Sql, sql } from "../../lib/db/sql";

export interface OrderRow {
	seq: number;
	id: string;
	user_id: number;
	amount: number;
	description: string;
	status: OrderStatus;
	cancel_reason: CancelReason | null;
	created_at: Date;
	updated_at: Date;
}

// The public shape's home is lib/api-types.ts; test/integration/order-intake.test.ts reads it here.
export type { Order };

/** The one mapping of an order row to what the API returns, for reads and writes alike. */
export function toOrder(row: OrderRow): Order {
	return {
		id: row.id,
		userId: row.user_id,
		amount: row.amount,
		description: row.description,
		status: row.status,
		...(row.cancel_reason ? { cancelReason: row.cancel_reason } : {}),
		createdAt: row.created_at.toISOString(),
		updatedAt: row.updated_at.toISOString(),
	};
}

/** An order row as json_agg gives it back: its timestamps as text. */
export type OrderJson = Omit<OrderRow, "created_at" | "updated_at"> & {
	created_at: string;
	updated_at: string;
};

export const fromJson = (r: OrderJson): OrderRow => ({
	...r,
	created_at: new Date(r.created_at),
	updated_at: new Date(r.updated_at),
});

/**
 * Inserts orders and their payment requests (outbox rows, one per order, in the same order) in
 * ONE statement: all the rows commit together or not at all, in one round trip. Returns the
 * stored orders, in no particular order.
 */
export async function insertOrdersWithRequests(
	db: Knex | Knex.Transaction,
	orders: { id: string; userId: number; amount: number; description: string }[],
	requests: Sql,
): Promise<OrderRow[]> {
	const ids = orders.map(o => o.id);
	const userIds = orders.map(o => o.userId);
	const amounts = orders.map(o => o.amount);
	const descriptions = orders.map(o => o.description);
	return runPrepared<OrderRow>(
		db,
		"orders.insert",
		sql`WITH o AS (
			INSERT INTO orders (id, user_id, amount, description)
			SELECT * FROM unnest(${ids}::uuid[], ${userIds}::bigint[], ${amounts}::bigint[], ${descriptions}::text[])
			RETURNING *
		), m AS (${requests})
		SELECT * FROM o`,
	);
}

/**
 * Records the result messages in the inbox and applies the new ones — NEW → FINISHED or
 * NEW → CANCELLED, never out of a final status — in ONE statement (atomic, one round trip).
 * Returns how many messages were new, and the orders that actually changed.
 */
export async function applyResults(
	db: Knex,
	messages: { messageId: string; result: PaymentResult }[],
	inbox: Sql,
): Promise<{ fresh: number; changed: OrderRow[] }> {
	if (!messages.length) return { fresh: 0, changed: [] };
	const messageIds = messages.map(m => m.messageId);
	const orderIds = messages.map(m => m.result.orderId);
	const statuses = messages.map(m => (m.result.status === "PAID" ? "FINISHED" : "CANCELLED"));
	const reasons = messages.map(m => m.result.reason ?? null);
	const rows = await runPrepared<{ fresh: number; changed: OrderJson[] }>(
		db,
		"orders.apply-results",
		sql`WITH fresh AS (${inbox}),
		r AS (
			SELECT r.* FROM unnest(${messageIds}::text[], ${orderIds}::uuid[], ${statuses}::text[], ${reasons}::text[]) AS r(message_id, id, status, reason)
			 WHERE r.message_id IN (SELECT message_id FROM fresh)
		),
		changed AS (
			UPDATE orders o SET status = r.status, cancel_reason = r.reason, updated_at = now()
			  FROM r WHERE o.id = r.id AND o.status = 'NEW'
			RETURNING o.*
		)
		SELECT (SELECT count(*) FROM fresh)::int AS fresh, (SELECT coalesce(json_agg(changed), '[]') FROM changed) AS changed`,
	);
	return { fresh: rows[0].fresh, changed: rows[0].changed.map(fromJson) };
}
