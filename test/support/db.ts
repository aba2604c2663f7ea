import { strict as assert } from "assert";
import knexFactory, { Knex } from "knex";
import { types } from "pg";
import { eventually } from "./http";

// bigint columns (amounts, balances, ids) as numbers, as the services read them.
types.setTypeParser(types.builtins.INT8, value => Number(value));

const open = (url: string): Knex =>
	knexFactory({ client: "pg", connection: { connectionString: url }, pool: { min: 0, max: 4 } });

/** Direct connections to both test databases, for checking what the services stored. */
export function testDatabases() {
	const orders = open(process.env.ORDERS_DATABASE_URL!);
	const payments = open(process.env.PAYMENTS_DATABASE_URL!);
	return {
		orders,
		payments,
		close: () => Promise.all([orders.destroy(), payments.destroy()]).then(() => undefined),
	};
}

/** An account's balance, the sum of its ledger and its number of order debits. */
export async function accountFacts(payments: Knex, userId: number) {
	const account = await payments("accounts").where({ user_id: userId }).first("balance");
	const row = await payments("account_transactions")
		.where({ user_id: userId })
		.select(
			payments.raw("coalesce(sum(amount), 0)::bigint AS sum"),
			payments.raw("count(*) FILTER (WHERE kind = 'ORDER_PAYMENT')::int AS debits"),
		)
		.first();
	return {
		balance: account?.balance,
		ledgerSum: Number(row?.sum ?? 0),
		debits: Number(row?.debits ?? 0),
	};
}

/** Asserts the account holds `balance`, its ledger sums to exactly that, and it has `debits` order debits. */
export async function assertBalanced(
	payments: Knex,
	userId: number,
	balance: number,
	debits: number,
) {
	assert.deepEqual(await accountFacts(payments, userId), { balance, ledgerSum: balance, debits });
}

/** Waits until every one of the orders `ids` is stored FINISHED. */
export const untilAllFinished = (
	orders: Knex,
	ids: string[],
	what: string,
	timeoutMs: number,
	intervalMs: number,
) =>
	eventually(
		async () =>
			(await orders("orders").whereIn("id", ids).where("status", "FINISHED")).length === ids.length,
		what,
		timeoutMs,
		intervalMs,
	);

/** Transactions of this database waiting for a lock (a row or an inbox key), other than our own. */
export async function waitingOnLocks(knex: Knex): Promise<number> {
	const { rows } = await knex.raw(
		`SELECT count(*) AS n FROM pg_stat_activity
		  WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
	);
	return Number(rows[0].n);
}

/** Waits until `n` transactions of this database (other than our own) wait for a lock. */
export const untilWaitingOnLocks = (knex: Knex, n: number, what: string) =>
	eventually(async () => (await waitingOnLocks(knex)) === n, what, 20_000, 20);

/** Runs `f` while a transaction of ours holds the account's row (FOR UPDATE), then lets it go. */
export async function whileAccountLocked<T>(
	payments: Knex,
	userId: number,
	f: () => Promise<T>,
): Promise<T> {
	const lock = await payments.transaction();
	try {
		await lock("accounts").where({ user_id: userId }).forUpdate();
		return await f();
	} finally {
		await lock.commit();
	}
}
