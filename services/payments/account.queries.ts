import type { Knex } from "knex";
import { KnexAdapter } from "../../lib/db/knex-adapter";
import { AccountNotFoundError, InvalidCursorError } from "../../lib/errors";
import type { Account, LedgerEntry } from "../../lib/api-types";
import { AccountRow, LedgerRow, toAccount, toLedgerEntry } from "./account.repository";

/** The accounts table as moleculer-db reads it: rows mapped by `toAccount`, like the writes' rows. */
export type AccountReader = KnexAdapter<AccountRow, Account>;
/** The ledger, read the same way on the same pool (moleculer-db holds one adapter per service: the accounts). */
export type LedgerReader = KnexAdapter<LedgerRow, LedgerEntry>;

export const accountReader = (db: Knex): AccountReader =>
	new KnexAdapter(db, { table: "accounts", toEntity: toAccount });

export const ledgerReader = (db: Knex): LedgerReader =>
	new KnexAdapter(db, { table: "account_transactions", toEntity: toLedgerEntry });

export async function getAccount(accounts: AccountReader, userId: number): Promise<Account> {
	const row = await accounts.findOne({ user_id: userId });
	if (!row) throw new AccountNotFoundError(userId);
	return accounts.entityToObject(row);
}

/**
 * A page of the user's ledger, newest first; `before` is the id of the last entry of the
 * previous page, and must be one of the user's entries. No account is 404, not an empty page.
 */
export async function listTransactions(
	accounts: AccountReader,
	ledger: LedgerReader,
	userId: number,
	page: { limit: number; before?: number },
): Promise<LedgerEntry[]> {
	if (!(await accounts.findOne({ user_id: userId }))) throw new AccountNotFoundError(userId);
	const query: Record<string, unknown> = { user_id: userId };
	if (page.before !== undefined) {
		if (!(await ledger.findOne({ id: page.before, user_id: userId }, ["id"])))
			throw new InvalidCursorError();
		query.id = { $lt: page.before };
	}
	const rows = await ledger.find({ query, sort: "-id", limit: page.limit });
	return rows.map(row => ledger.entityToObject(row));
}
