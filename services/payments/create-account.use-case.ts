import type { Knex } from "knex";
import { AccountExistsError } from "../../lib/errors";
import type { Account } from "../../lib/api-types";
import { insertAccount, toAccount } from "./account.repository";

/** One account per user: the primary key settles concurrent requests, the losers get 409. */
export async function createAccount(knex: Knex, userId: number): Promise<Account> {
	const row = await insertAccount(knex, userId);
	if (!row) throw new AccountExistsError(userId);
	return toAccount(row);
}
