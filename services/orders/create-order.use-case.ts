import { randomUUID } from "crypto";
import type { Knex } from "knex";
import type { OrderToPay } from "../../lib/contracts";
import { runIdempotent } from "../../lib/db/idempotency.store";
import { OutboxStore, Queues, WriteScope } from "../../lib/messaging";
import type { Order } from "../../lib/api-types";
import { insertOrdersWithRequests, toOrder } from "./order.repository";

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
	const place = async (db: Knex | Knex.Transaction) => (await insertOrders(db, [input]))[0];
	if (idempotencyKey === undefined) return place(knex);
	return runIdempotent(
		knex,
		{ scope: "orders.create", userId, key: idempotencyKey, body: { amount, description } },
		place,
	);
}

/** Orders and their payment requests, in one statement; the stored orders in the input's order. */
async function insertOrders(db: Knex | Knex.Transaction, inputs: NewOrder[]): Promise<Order[]> {
	const orders = inputs.map(({ userId, amount, description }) => ({
		id: randomUUID(),
		userId,
		amount,
		description,
	}));
	const requests: OrderToPay[] = orders.map(({ id, userId, amount }) => ({
		orderId: id,
		userId,
		amount,
	}));
	const rows = await insertOrdersWithRequests(
		db,
		orders,
		outbox.insertFragment(Queues.ordersToPay, requests),
	);
	const byId = new Map(rows.map(r => [r.id, r]));
	return orders.map(o => toOrder(byId.get(o.id)!));
}

interface Waiting {
	input: NewOrder;
	resolve: (order: Order) => void;
	reject: (err: unknown) => void;
}

/**
 * Group commit of concurrent orders: the orders a node receives while its previous insert is
 * under way (or in the same event-loop turn) are stored by one statement and one commit, so at
 * load PostgreSQL pays one parse, one round trip and one WAL flush for many orders. An order
 * that arrives alone goes at once. Each caller gets its own order or error: when PostgreSQL
 * refuses the batch's rows, its orders are retried one by one, so one bad order cannot fail
 * the others. Any other failure (connection lost, database shutting down) fails the whole
 * batch, as it would have failed each order alone: the statement may have committed before
 * the connection dropped, and a retry would then place every order twice.
 * Orders with an Idempotency-Key keep their own transaction (the key row, the order and the
 * stored response commit together).
 */
export class OrderIntake {
	private waiting: Waiting[] = [];
	private busy = false;
	private scheduled = false;

	/**
	 * `afterCommit` runs once per stored batch (cache invalidation) before the callers get their
	 * orders; each store is a `write` (MessagingRuntime.write, which publishes its messages after it).
	 */
	constructor(
		private readonly knex: Knex,
		private readonly afterCommit: (orders: Order[]) => Promise<void>,
		private readonly write: WriteScope = work => work(),
		private readonly maxBatch = 200,
	) {}

	place(input: NewOrder): Promise<Order> {
		if (input.idempotencyKey !== undefined) return this.placeAlone(input);
		return new Promise<Order>((resolve, reject) => {
			this.waiting.push({ input, resolve, reject });
			this.flushSoon();
		});
	}

	private async placeAlone(input: NewOrder): Promise<Order> {
		const order = await this.write(() => createOrder(this.knex, input));
		await this.afterCommit([order]);
		return order;
	}

	private flushSoon(): void {
		if (this.busy || this.scheduled) return;
		this.scheduled = true;
		setImmediate(() => {
			this.scheduled = false;
			void this.flush();
		});
	}

	private async flush(): Promise<void> {
		this.busy = true;
		const batch = this.waiting.splice(0, this.maxBatch);
		let orders: Order[];
		try {
			orders = await this.write(() =>
				insertOrders(
					this.knex,
					batch.map(w => w.input),
				),
			);
		} catch (err) {
			this.done();
			if (batch.length === 1 || !rejectedRows(err)) for (const w of batch) w.reject(err);
			else await Promise.all(batch.map(w => this.placeAlone(w.input).then(w.resolve, w.reject)));
			return;
		}
		this.done();
		try {
			await this.afterCommit(orders);
			batch.forEach((w, i) => w.resolve(orders[i]));
		} catch (err) {
			for (const w of batch) w.reject(err);
		}
	}

	/** The next batch may go: the previous one has committed or failed. */
	private done(): void {
		this.busy = false;
		if (this.waiting.length) this.flushSoon();
	}
}

/**
 * PostgreSQL refused the statement for its data (classes 22 data exception, 23 integrity
 * constraint violation): it certainly did not commit, and another order alone may pass.
 */
function rejectedRows(err: unknown): boolean {
	const code = (err as { code?: unknown } | undefined)?.code;
	return typeof code === "string" && /^(22|23)[0-9A-Z]{3}$/.test(code);
}
