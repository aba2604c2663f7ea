import { randomUUID } from "crypto";
import type { Knex } from "knex";
import type { OrderToPay } from "../../lib/contracts";
import { runIdempotent } from "../../lib/db/idempotency.store";
import { OutboxStore, Queues } from "../../lib/messaging";
import { insertOrderWithRequest, Order, toOrder } from "./order.repository";

export interface NewOrder {
	userId: number;
	amount: number;
	description: string;
	idempotencyKey?: string;
}

const outbox = new OutboxStore();

/**
 * Stores a NEW order and its payment request in ONE transaction. That is the point of the
 * outbox: publishing straight to RabbitMQ could send the request for an order whose row then
 * fails to commit (a debit for nothing), or commit the order and lose the message when the
 * process dies before publishing (an order stuck in NEW). Here both exist or neither does,
 * and the relay delivers the message whenever the broker is reachable.
 */
export async function createOrder(knex: Knex, input: NewOrder): Promise<Order> {
	const { userId, amount, description, idempotencyKey } = input;
	const place = async (db: Knex | Knex.Transaction) => {
		const id = randomUUID();
		const request: OrderToPay = { orderId: id, userId, amount };
		const row = await insertOrderWithRequest(
			db,
			{ id, userId, amount, description },
			outbox.insertFragment(Queues.ordersToPay, [request]),
		);
		return toOrder(row);
	};
	if (idempotencyKey === undefined) return place(knex);
	return runIdempotent(
		knex,
		{ scope: "orders.create", userId, key: idempotencyKey, body: { amount, description } },
		place,
	);
}
