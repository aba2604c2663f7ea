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
	async footprint(userId: number): Promise<Record<string, number>> {
		const count = async (q: Knex.QueryBuilder) =>
			Number((await q.count({ n: "*" }).first())?.n ?? 0);
		const [
			orders,
			ordersOutbox,
			ordersKeys,
			accounts,
			ledger,
			payments,
			refunds,
			paymentsOutbox,
			paymentsKeys,
		] = await Promise.all([
			count(this.orders("orders").where({ user_id: userId })),
			count(this.orders("outbox_messages").whereRaw("(payload->>'userId')::bigint = ?", [userId])),
			count(this.orders("idempotency_keys").where({ user_id: userId })),
			count(this.payments("accounts").where({ user_id: userId })),
			count(this.payments("account_transactions").where({ user_id: userId })),
			count(this.payments("order_payments").where({ user_id: userId })),
			count(this.payments("order_refunds").where({ user_id: userId })),
			count(
				this.payments("outbox_messages").whereRaw("(payload->>'userId')::bigint = ?", [userId]),
			),
			count(this.payments("idempotency_keys").where({ user_id: userId })),
		]);
		return {
			orders,
			ordersOutbox,
			ordersKeys,
			accounts,
			ledger,
			payments,
			refunds,
			paymentsOutbox,
			paymentsKeys,
		};
	}

	/**
	 * Row counts of the tables only a synchronous HTTP write fills, for requests that name no
	 * valid user (the payment flow also writes the ledger, so tests comparing totals must not
	 * have funded orders in flight).
	 */
	async totals(): Promise<Record<string, number>> {
		const count = async (q: Knex.QueryBuilder) =>
			Number((await q.count({ n: "*" }).first())?.n ?? 0);
		const [orders, ordersOutbox, ordersKeys, accounts, ledger, paymentsKeys] = await Promise.all([
			count(this.orders("orders")),
			count(this.orders("outbox_messages")),
			count(this.orders("idempotency_keys")),
			count(this.payments("accounts")),
			count(this.payments("account_transactions")),
			count(this.payments("idempotency_keys")),
		]);
		return { orders, ordersOutbox, ordersKeys, accounts, ledger, paymentsKeys };
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
