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

export async function insertOrder(
	trx: Knex.Transaction,
	order: { id: string; userId: number; amount: number; description: string },
): Promise<OrderRow> {
	const [row] = await trx("orders")
		.insert({
			id: order.id,
			user_id: order.userId,
			amount: order.amount,
			description: order.description,
		})
		.returning("*");
	return row;
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
