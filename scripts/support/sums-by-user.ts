/**
 * Per-user sums the bench and the chaos suite check balances against: what each user spent on
 * FINISHED orders (orders database) and the sum of each user's ledger (payments database).
 */
import { Knex } from "knex";

/** user id → sum; a user with no row is absent. `userIds` narrows the query to those users. */
async function sumByUser(
	db: Knex,
	table: string,
	column: string,
	userIds?: number[],
	where: Record<string, string> = {},
): Promise<Map<number, number>> {
	const query = db(table).where(where);
	if (userIds) query.whereIn("user_id", userIds);
	const rows: { user_id: number | string; sum: number | string }[] = await query
		.groupBy("user_id")
		.select("user_id", db.raw(`sum(${column})::bigint AS sum`));
	return new Map(rows.map(r => [Number(r.user_id), Number(r.sum)]));
}

/** Kopecks each user spent on FINISHED orders (a refunded order no longer counts). */
export const spentByUser = (orders: Knex, userIds?: number[]) =>
	sumByUser(orders, "orders", "amount", userIds, { status: "FINISHED" });

/** Each user's ledger sum, which must equal the balance. */
export const ledgerByUser = (payments: Knex, userIds: number[]) =>
	sumByUser(payments, "account_transactions", "amount", userIds);
