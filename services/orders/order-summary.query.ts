import type { Knex } from "knex";
import { ORDER_STATUSES, type OrderStatus, type OrderSummary } from "../../lib/api-types";

/**
 * One user's orders counted by status, and what they spent, by PostgreSQL: a GROUP BY over
 * the index (user_id, status) INCLUDE (amount), an index-only scan that reads only that
 * user's entries however many orders they have (at most five groups come back).
 */
export async function orderSummary(db: Knex, userId: number): Promise<OrderSummary> {
	const { rows } = await db.raw(
		`SELECT status, count(*)::bigint AS n, sum(amount)::bigint AS amount
		   FROM orders WHERE user_id = ? GROUP BY status`,
		[userId],
	);
	const byStatus = Object.fromEntries(ORDER_STATUSES.map(s => [s, 0])) as Record<
		OrderStatus,
		number
	>;
	let spent = 0;
	for (const r of rows as { status: OrderStatus; n: number; amount: number }[]) {
		byStatus[r.status] = Number(r.n);
		if (r.status === "FINISHED") spent = Number(r.amount);
	}
	return { total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus, spent };
}
