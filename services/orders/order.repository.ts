import type { Knex } from "knex";
import type { CancelReason, OrderStatus, PaymentResult } from "../../lib/contracts";

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

export interface Order {
	id: string;
	userId: number;
	amount: number;
	description: string;
	status: OrderStatus;
	cancelReason?: CancelReason;
	createdAt: string;
	updatedAt: string;
}

export function toOrder(row: OrderRow): Order {
	const order: Order = {
		id: row.id,
		userId: row.user_id,
		amount: row.amount,
		description: row.description,
		status: row.status,
		createdAt: row.created_at.toISOString(),
		updatedAt: row.updated_at.toISOString(),
	};
	if (row.cancel_reason) order.cancelReason = row.cancel_reason;
	return order;
}

/**
 * Inserts the order and its payment request (an outbox row) in ONE statement: both rows
 * commit together or not at all, in one round trip.
 */
export async function insertOrderWithRequest(
	db: Knex | Knex.Transaction,
	order: { id: string; userId: number; amount: number; description: string },
	request: { sql: string; bindings: unknown[] },
): Promise<OrderRow> {
	const { rows } = await db.raw(
		`WITH o AS (
			INSERT INTO orders (id, user_id, amount, description) VALUES (?, ?, ?, ?) RETURNING *
		), m AS (${request.sql})
		SELECT * FROM o`,
		[order.id, order.userId, order.amount, order.description, ...request.bindings] as Knex.RawBinding[],
	);
	return rows[0];
}

/** The insertion position of a user's order, for "older than" pages; undefined if not theirs. */
export async function findOrderSeq(knex: Knex, userId: number, id: string): Promise<number | undefined> {
	const row = await knex("orders").where({ id, user_id: userId }).first("seq");
	return row?.seq;
}

/**
 * Applies payment results: NEW → FINISHED or NEW → CANCELLED, never out of a final status.
 * Returns the orders that actually changed.
 */
export async function applyResults(trx: Knex.Transaction, results: PaymentResult[]): Promise<OrderRow[]> {
	if (!results.length) return [];
	const { rows } = await trx.raw(
		`UPDATE orders o
		    SET status = r.status, cancel_reason = r.reason, updated_at = now()
		   FROM (SELECT unnest(?::uuid[]) AS id, unnest(?::text[]) AS status, unnest(?::text[]) AS reason) r
		  WHERE o.id = r.id AND o.status = 'NEW'
		RETURNING o.*`,
		[
			results.map(r => r.orderId),
			results.map(r => (r.status === "PAID" ? "FINISHED" : "CANCELLED")),
			results.map(r => r.reason ?? null),
		],
	);
	return rows;
}
