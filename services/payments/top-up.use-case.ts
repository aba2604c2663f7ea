import type { Knex } from "knex";
import { runIdempotent } from "../../lib/db/idempotency.store";
import { AccountNotFoundError, BalanceLimitError } from "../../lib/errors";
import type { Account } from "../../lib/api-types";
import { insertLedgerEntries, lockAccounts, saveBalances, toAccount } from "./account.repository";

export interface TopUp {
	userId: number;
	amount: number;
	idempotencyKey?: string;
	maxBalance: number;
}

/** Credits the account and writes the ledger entry in one transaction, under the row lock. */
export async function topUp(knex: Knex, input: TopUp): Promise<Account> {
	const { userId, amount, idempotencyKey, maxBalance } = input;
	return runIdempotent(
		knex,
		{ scope: "payments.topUp", userId, key: idempotencyKey, body: { amount } },
		async trx => {
			const account = (await lockAccounts(trx, [userId])).get(userId);
			if (!account) throw new AccountNotFoundError(userId);
			const balance = account.balance + amount;
			if (balance > maxBalance) throw new BalanceLimitError(maxBalance);
			const [saved] = await saveBalances(trx, [{ ...account, balance }]);
			await insertLedgerEntries(trx, [
				{ user_id: userId, kind: "TOP_UP", amount, balance_after: balance },
			]);
			return toAccount(saved);
		},
	);
}
