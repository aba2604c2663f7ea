import type { Knex } from "knex";

export interface AccountRow {
	user_id: number;
	balance: number;
	currency: string;
	created_at: Date;
	updated_at: Date;
}

export interface Account {
	userId: number;
	balance: number;
	currency: string;
	createdAt: string;
	updatedAt: string;
}

export const toAccount = (row: AccountRow): Account => ({
	userId: row.user_id,
	balance: row.balance,
	currency: row.currency.trim(),
	createdAt: row.created_at.toISOString(),
	updatedAt: row.updated_at.toISOString(),
});

export interface LedgerEntry {
	user_id: number;
	kind: "TOP_UP" | "ORDER_PAYMENT" | "ORDER_REFUND";
	amount: number;
	balance_after: number;
	order_id?: string;
}

/** Inserts the account unless the user has one; undefined when it already existed. */
export async function insertAccount(knex: Knex, userId: number): Promise<AccountRow | undefined> {
	const [row] = await knex("accounts").insert({ user_id: userId }).onConflict("user_id").ignore().returning("*");
	return row;
}

/** Locks accounts in user-id order, so concurrent batches never deadlock on each other. */
export async function lockAccounts(trx: Knex.Transaction, userIds: number[]): Promise<Map<number, AccountRow>> {
	if (!userIds.length) return new Map();
	const rows: AccountRow[] = await trx("accounts")
		.whereIn("user_id", [...new Set(userIds)].sort((a, b) => a - b))
		.orderBy("user_id")
		.forUpdate();
	return new Map(rows.map(r => [r.user_id, r]));
}

export async function saveBalances(trx: Knex.Transaction, accounts: AccountRow[]): Promise<AccountRow[]> {
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

export async function insertLedgerEntries(trx: Knex.Transaction, entries: LedgerEntry[]): Promise<void> {
	if (entries.length) await trx("account_transactions").insert(entries);
}

/** The id of a user's ledger entry, for "older than" pages; undefined if not theirs. */
export async function ledgerEntryExists(knex: Knex, userId: number, id: number): Promise<boolean> {
	return Boolean(await knex("account_transactions").where({ id, user_id: userId }).first("id"));
}
