import type { Knex } from "knex";
import type { Account, LedgerEntry, LedgerKind } from "../../lib/api-types";
import { Sql, sql, trustedSql } from "../../lib/db/sql";

export interface AccountRow {
	user_id: number;
	balance: number;
	currency: string;
	created_at: Date;
	updated_at: Date;
}

/** The one mapping of an account row to what the API returns, for reads and writes alike. */
export const toAccount = (row: AccountRow): Account => ({
	userId: row.user_id,
	balance: row.balance,
	currency: row.currency.trim(),
	createdAt: row.created_at.toISOString(),
	updatedAt: row.updated_at.toISOString(),
});

export interface LedgerRow {
	id: number;
	user_id: number;
	kind: LedgerKind;
	amount: number;
	balance_after: number;
	order_id: string | null;
	created_at: Date;
}

/** The one mapping of a ledger row to what the API returns. */
export const toLedgerEntry = (row: LedgerRow): LedgerEntry => ({
	id: row.id,
	kind: row.kind,
	amount: row.amount,
	balanceAfter: row.balance_after,
	...(row.order_id !== null ? { orderId: row.order_id } : {}),
	createdAt: row.created_at.toISOString(),
});

/** A ledger row to insert: the database numbers and dates it. */
export interface NewLedgerRow {
	user_id: number;
	kind: LedgerKind;
	amount: number;
	balance_after: number;
	order_id?: string;
}

/** Inserts the account unless the user has one; undefined when it already existed. */
export async function insertAccount(knex: Knex, userId: number): Promise<AccountRow | undefined> {
	const [row] = await knex("accounts")
		.insert({ user_id: userId })
		.onConflict("user_id")
		.ignore()
		.returning("*");
	return row;
}

/** Locks accounts in user-id order, so concurrent batches never deadlock on each other. */
export async function lockAccounts(
	trx: Knex.Transaction,
	userIds: number[],
): Promise<Map<number, AccountRow>> {
	if (!userIds.length) return new Map();
	const rows: AccountRow[] = await trx("accounts")
		.whereIn(
			"user_id",
			[...new Set(userIds)].sort((a, b) => a - b),
		)
		.orderBy("user_id")
		.forUpdate();
	return new Map(rows.map(r => [r.user_id, r]));
}

export async function saveBalances(
	trx: Knex.Transaction,
	accounts: AccountRow[],
): Promise<AccountRow[]> {
	if (!accounts.length) return [];
	const { rows } = await trx.raw(
		`UPDATE accounts a SET balance = v.balance, updated_at = now()
		   FROM (SELECT unnest(?::bigint[]) AS user_id, unnest(?::bigint[]) AS balance) v
		  WHERE a.user_id = v.user_id
		RETURNING a.*`,
		[accounts.map(a => a.user_id), accounts.map(a => a.balance)],
	);
	return rows;
}

export async function insertLedgerEntries(
	trx: Knex.Transaction,
	entries: NewLedgerRow[],
): Promise<void> {
	if (entries.length) await trx("account_transactions").insert(entries);
}

/** Ledger entries of one kind to insert in the order given, so a user's running balance reads right. */
export interface LedgerColumns {
	userIds: number[];
	amounts: number[];
	balancesAfter: number[];
	orderIds: string[];
}

/**
 * Two CTEs of a batch statement that moves money: `balances` sets each account's new balance,
 * `ledger` writes one entry of `kind` per movement, in the order given.
 */
export const balancesAndLedger = (
	kind: "ORDER_PAYMENT" | "ORDER_REFUND",
	balances: Map<number, number>,
	entries: LedgerColumns,
): Sql =>
	sql`balances AS (
			UPDATE accounts a SET balance = v.balance, updated_at = now()
			  FROM unnest(${[...balances.keys()]}::bigint[], ${[...balances.values()]}::bigint[]) AS v(user_id, balance)
			 WHERE a.user_id = v.user_id
		), ledger AS (
			INSERT INTO account_transactions (user_id, kind, amount, balance_after, order_id)
			SELECT e.user_id, ${trustedSql(`'${kind}'`)}, e.amount, e.balance_after, e.order_id
			  FROM unnest(${entries.userIds}::bigint[], ${entries.amounts}::bigint[], ${entries.balancesAfter}::bigint[], ${entries.orderIds}::uuid[]) WITH ORDINALITY AS e(user_id, amount, balance_after, order_id, n)
			 ORDER BY e.n
		)`;
