import { strict as assert } from "assert";
import { assertError } from "../support/assertions";
import { TestDatabases } from "../support/footprint";
import { newUserId } from "../support/http";
import { clusterSuite } from "../support/suite";

/** The PostgreSQL error of a statement that must fail, or a failed assertion if it succeeded. */
async function rejection(
	statement: Promise<unknown>,
): Promise<{ code?: string; constraint?: string }> {
	try {
		await statement;
	} catch (err) {
		return err as { code?: string; constraint?: string };
	}
	assert.fail("the statement was accepted");
}

describe("Money", () => {
	describe("the database's last line", () => {
		const db = new TestDatabases();
		after(() => db.close());

		// The services never try this (debits are decided under SELECT ... FOR UPDATE), so a test
		// of the services cannot see the CHECK work: it is tested here, straight on the table.
		it("When an UPDATE would take a balance below zero, then PostgreSQL rejects it and the balance stays", async () => {
			const userId = newUserId();
			await db.payments("accounts").insert({ user_id: userId, balance: 100 });

			const err = await rejection(
				db
					.payments("accounts")
					.where({ user_id: userId })
					.update({ balance: db.payments.raw("balance - 101") }),
			);

			assert.equal(err.code, "23514", "check_violation");
			assert.equal(err.constraint, "accounts_balance_check");
			assert.equal(await db.balance(userId), 100);
			// The same update by exactly the balance is allowed: the limit is zero, not one.
			await db
				.payments("accounts")
				.where({ user_id: userId })
				.update({ balance: db.payments.raw("balance - 100") });
			assert.equal(await db.balance(userId), 0);
		});

		it("When a ledger row would record a balance below zero, then PostgreSQL rejects it", async () => {
			const userId = newUserId();
			await db.payments("accounts").insert({ user_id: userId, balance: 0 });

			const err = await rejection(
				db
					.payments("account_transactions")
					.insert({ user_id: userId, kind: "TOP_UP", amount: 5, balance_after: -1 }),
			);

			assert.equal(err.code, "23514");
			assert.equal(err.constraint, "account_transactions_balance_after_check");
			assert.deepEqual(await db.ledgerRows(userId), []);
		});
	});

	describe("through the API", () => {
		// A ceiling a few maximal top-ups can reach, so the limit is tested with real amounts.
		const maxBalance = 3_000_000_000_001;
		const { api, db } = clusterSuite({
			nodes: ["gateway", "orders", "payments"],
			overrides: { payments: { maxBalance } },
		});

		it("When amounts near 10^12 are topped up, then the balance is their exact sum, up to MAX_BALANCE and not one kopeck over", async () => {
			const userId = newUserId();
			await api("POST", "/api/accounts", { userId });
			const amounts = [1_000_000_000_000, 999_999_999_999, 1_000_000_000_000, 2];
			const answers: number[] = [];
			for (const amount of amounts)
				answers.push(
					(await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount } })).body
						.balance,
				);
			assert.deepEqual(answers, [
				1_000_000_000_000,
				1_999_999_999_999,
				2_999_999_999_999,
				maxBalance,
			]);

			const over = await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1 } });

			assertError(over, 422, "BALANCE_LIMIT_EXCEEDED");
			assert.equal(over.body.data.maxBalance, maxBalance);
			assert.equal(await db.balance(userId), maxBalance);
			assert.equal(await db.ledgerSum(userId), maxBalance);
			assert.equal(
				(await db.ledgerRows(userId)).length,
				4,
				"the refused top-up left no ledger row",
			);
			assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, maxBalance);
		});
	});
});
