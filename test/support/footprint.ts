import knexFactory, { Knex } from "knex";
import { types } from "pg";

// bigint columns as numbers, as the services read them (lib/db/knex.ts does the same).
types.setTypeParser(types.builtins.INT8, value => Number(value));

/**
 * Direct read access to both services' test databases, so tests can check what was (or was
 * not) stored behind an HTTP answer.
 */
export class TestDatabases {
	readonly orders: Knex;
	readonly payments: Knex;

	constructor() {
		const open = (url: string) =>
			knexFactory({
				client: "pg",
				connection: { connectionString: url },
				pool: { min: 0, max: 4 },
			});
		this.orders = open(process.env.ORDERS_DATABASE_URL!);
		this.payments = open(process.env.PAYMENTS_DATABASE_URL!);
	}

	async close(): Promise<void> {
		await Promise.all([this.orders.destroy(), this.payments.destroy()]);
	}

	/** Every row any write of this user could have left, per table. */
	footprint(userId: number): Promise<Record<string, number>> {
		const byPayload = "(payload->>'userId')::bigint = ?";
		return rowCounts({
			orders: this.orders("orders").where({ user_id: userId }),
			ordersOutbox: this.orders("outbox_messages").whereRaw(byPayload, [userId]),
			ordersKeys: this.orders("idempotency_keys").where({ user_id: userId }),
			accounts: this.payments("accounts").where({ user_id: userId }),
			ledger: this.payments("account_transactions").where({ user_id: userId }),
			payments: this.payments("order_payments").where({ user_id: userId }),
			refunds: this.payments("order_refunds").where({ user_id: userId }),
			paymentsOutbox: this.payments("outbox_messages").whereRaw(byPayload, [userId]),
			paymentsKeys: this.payments("idempotency_keys").where({ user_id: userId }),
		});
	}

	/**
	 * Row counts of the tables only a synchronous HTTP write fills, for requests that name no
	 * valid user (the payment flow also writes the ledger, so tests comparing totals must not
	 * have funded orders in flight).
	 */
	totals(): Promise<Record<string, number>> {
		return rowCounts({
			orders: this.orders("orders"),
			ordersOutbox: this.orders("outbox_messages"),
			ordersKeys: this.orders("idempotency_keys"),
			accounts: this.payments("accounts"),
			ledger: this.payments("account_transactions"),
			paymentsKeys: this.payments("idempotency_keys"),
		});
	}

	/** The rows a service's outbox holds about the order, oldest first; only those to `queue` if given. */
	outboxOf(service: "orders" | "payments", orderId: string, queue?: string) {
		const rows = this[service]("outbox_messages")
			.whereRaw("payload->>'orderId' = ?", [orderId])
			.orderBy("id");
		return queue ? rows.where({ queue }) : rows;
	}

	/** The order's status as stored, or undefined where there is no such order. */
	async orderStatus(id: string): Promise<string | undefined> {
		return (await this.orders("orders").where({ id }).first())?.status;
	}

	async orderRows(userId: number) {
		return this.orders("orders").where({ user_id: userId }).orderBy("seq");
	}

	async ordersOutboxRows(userId: number) {
		return this.orders("outbox_messages")
			.whereRaw("(payload->>'userId')::bigint = ?", [userId])
			.orderBy("id");
	}

	async ledgerRows(userId: number) {
		return this.payments("account_transactions").where({ user_id: userId }).orderBy("id");
	}

	async balance(userId: number): Promise<number | undefined> {
		const row = await this.payments("accounts").where({ user_id: userId }).first("balance");
		return row?.balance;
	}

	async ledgerSum(userId: number): Promise<number> {
		const row = await this.payments("account_transactions")
			.where({ user_id: userId })
			.select(this.payments.raw("coalesce(sum(amount), 0)::bigint AS s"))
			.first();
		return Number(row?.s ?? 0);
	}
}

/** The number of rows of each query, under the same names, counted at once. */
async function rowCounts(
	queries: Record<string, Knex.QueryBuilder>,
): Promise<Record<string, number>> {
	const counts = await Promise.all(
		Object.values(queries).map(async q => Number((await q.count({ n: "*" }).first())?.n ?? 0)),
	);
	return Object.fromEntries(Object.keys(queries).map((name, i) => [name, counts[i]]));
}

/** Footprint of a user who never wrote anything. */
export const NOTHING = {
	orders: 0,
	ordersOutbox: 0,
	ordersKeys: 0,
	accounts: 0,
	ledger: 0,
	payments: 0,
	refunds: 0,
	paymentsOutbox: 0,
	paymentsKeys: 0,
};

/** Footprint of a user who only opened an account. */
export const ACCOUNT_ONLY = { ...NOTHING, accounts: 1 };
