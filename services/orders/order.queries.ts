import type { Knex } from "knex";
import { isUuid } from "../../lib/contracts";
import { KnexAdapter } from "../../lib/db/knex-adapter";
import { InvalidCursorError, OrderNotFoundError } from "../../lib/errors";
import type { Order } from "../../lib/api-types";
import { OrderRow, toOrder } from "./order.repository";

/** The orders table as moleculer-db reads it: rows mapped by `toOrder`, like the writes' rows. */
export type OrderReader = KnexAdapter<OrderRow, Order>;

export const orderReader = (db: Knex): OrderReader =>
	new KnexAdapter(db, { table: "orders", toEntity: toOrder });

/** One of the user's orders. Another user's order is "not found" too: ids are not secrets, but orders are. */
export async function getOrder(orders: OrderReader, userId: number, id: string): Promise<Order> {
	const row = isUuid(id) ? await orders.findOne({ id, user_id: userId }) : undefined;
	if (!row) throw new OrderNotFoundError(id);
	return orders.entityToObject(row);
}

/**
 * A page of the user's orders, newest first (insertion order, `seq`); `before` is the id of
 * the last order of the previous page, and must be one of the user's orders.
 */
export async function listOrders(
	orders: OrderReader,
	userId: number,
	page: { limit: number; before?: string },
): Promise<Order[]> {
	const query: Record<string, unknown> = { user_id: userId };
	if (page.before) {
		const cursor = await orders.findOne({ id: page.before, user_id: userId }, ["seq"]);
		if (!cursor) throw new InvalidCursorError();
		query.seq = { $lt: cursor.seq };
	}
	const rows = await orders.find({ query, sort: "-seq", limit: page.limit });
	return rows.map(row => orders.entityToObject(row));
}
