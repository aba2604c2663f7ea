import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { assertError, assertInvalidField } from "../support/assertions";
import { ACCOUNT_ONLY, NOTHING } from "../support/footprint";
import { newUserId } from "../support/http";
import { clusterSuite } from "../support/suite";

/**
 * Bad fields and headers of a request: amounts, identities, descriptions, list parameters and
 * Idempotency-Keys (bodies that cannot be read, unknown ids and paths: request-errors.test.ts).
 */
describe("Bad input through the HTTP API", () => {
	const { api, db, fundedUser } = clusterSuite({ nodes: ["gateway", "orders", "payments"] });

	/** POST /api/orders as `userId`, with a JSON `body`. */
	const placeOrder = (userId: number, body: unknown, headers: Record<string, string> = {}) =>
		api("POST", "/api/orders", { userId, body, headers });

	describe("amount", () => {
		const badAmounts: [string, unknown][] = [
			["negative", -100],
			["zero", 0],
			["fractional (1.5)", 1.5],
			['a string ("100")', "100"],
			["10^12 + 1", 1_000_000_000_001],
			["1e30", 1e30],
			["null", null],
			["a boolean", true],
		];
		const withAmount = (amount: unknown) => (amount === undefined ? {} : { amount });

		for (const [label, amount] of [...badAmounts, ["missing", undefined] as [string, unknown]]) {
			it(`When an order's amount is ${label}, then it is 422 VALIDATION_ERROR and nothing is stored`, async () => {
				const userId = newUserId();

				const reply = await placeOrder(
					userId,
					{ ...withAmount(amount), description: "bad amount" },
					{ "Idempotency-Key": randomUUID() },
				);

				assertInvalidField(reply, "amount");
				assert.deepEqual(await db.footprint(userId), NOTHING);
			});

			it(`When a top-up's amount is ${label}, then it is 422 VALIDATION_ERROR and the balance and ledger are unchanged`, async () => {
				const userId = await fundedUser(0);

				const reply = await api("POST", "/api/accounts/me/top-ups", {
					userId,
					body: withAmount(amount),
					headers: { "Idempotency-Key": randomUUID() },
				});

				assertInvalidField(reply, "amount");
				assert.deepEqual(await db.footprint(userId), ACCOUNT_ONLY);
				assert.equal(await db.balance(userId), 0);
			});
		}

		it("When an amount is exactly 1 or 10^12, then it is accepted (the bounds are inclusive)", async () => {
			// Orders from a user without an account (so no debit lands in the ledger later on).
			const userId = newUserId();
			const funded = await fundedUser(0);

			const low = await placeOrder(userId, { amount: 1, description: "low" });
			const high = await placeOrder(userId, { amount: 1e12, description: "high" });
			const topUp = await api("POST", "/api/accounts/me/top-ups", {
				userId: funded,
				body: { amount: 1e12 },
			});

			assert.deepEqual([low.status, high.status, topUp.status], [202, 202, 200]);
			assert.deepEqual([low.body.amount, high.body.amount, topUp.body.balance], [1, 1e12, 1e12]);
		});
	});

	describe("X-User-ID", () => {
		const badUsers: [string, string | undefined][] = [
			["missing", undefined],
			['"abc"', "abc"],
			['"0"', "0"],
			['"-1"', "-1"],
			['"1.5"', "1.5"],
			['"99999999999999999999"', "99999999999999999999"],
			["above 2^53", "9007199254740993"],
		];

		for (const [label, header] of badUsers) {
			it(`When X-User-ID is ${label}, then every /api call is 401 UNAUTHORIZED and nothing is stored`, async () => {
				const before = await db.totals();
				const headers: Record<string, string> = header === undefined ? {} : { "X-User-ID": header };

				const replies = [
					await api("POST", "/api/accounts", { headers }),
					await api("GET", "/api/accounts/me", { headers }),
					await api("POST", "/api/accounts/me/top-ups", { headers, body: { amount: 100 } }),
					await api("GET", "/api/accounts/me/transactions", { headers }),
					await api("POST", "/api/orders", {
						headers: { ...headers, "Idempotency-Key": randomUUID() },
						body: { amount: 100, description: "no identity" },
					}),
					await api("GET", "/api/orders", { headers }),
					await api("GET", `/api/orders/${randomUUID()}`, { headers }),
					await api("POST", `/api/orders/${randomUUID()}/refund`, {
						headers: { ...headers, "Idempotency-Key": randomUUID() },
					}),
					await api("GET", "/api/orders/summary", { headers }),
				];

				for (const reply of replies) assertError(reply, 401, "UNAUTHORIZED");
				assert.deepEqual(await db.totals(), before);
			});
		}
	});

	describe("description", () => {
		const badDescriptions: [string, unknown][] = [
			["empty", ""],
			["whitespace only", "  \t\n "],
			["missing", undefined],
			["501 characters", "d".repeat(501)],
			["10 kB (a body under the 16 kB limit)", "d".repeat(10 * 1024)],
			["a number", 42],
			["containing a NUL character", "before\u0000after"],
		];

		for (const [label, description] of badDescriptions) {
			it(`When an order's description is ${label}, then it is 422 VALIDATION_ERROR and nothing is stored`, async () => {
				const userId = newUserId();

				const reply = await placeOrder(userId, { amount: 100, description });

				assertInvalidField(reply, "description");
				assert.deepEqual(await db.footprint(userId), NOTHING);
			});
		}

		it("When the body is over 16 kB (20 kB of ASCII, or 10 kB of 2-byte characters), then it is 413 PAYLOAD_TOO_LARGE and nothing is stored", async () => {
			const userId = newUserId();

			for (const description of ["d".repeat(20 * 1024), "д".repeat(10 * 1024)]) {
				const reply = await placeOrder(userId, { amount: 100, description });
				assertError(reply, 413, "PAYLOAD_TOO_LARGE");
			}
			assert.deepEqual(await db.footprint(userId), NOTHING);
		});

		it("When a description is 500 characters, or padded with spaces, then it is accepted and stored trimmed", async () => {
			const userId = newUserId();

			const longest = await placeOrder(userId, { amount: 1, description: "d".repeat(500) });
			const padded = await placeOrder(userId, { amount: 1, description: "  Book  " });

			assert.deepEqual([longest.status, padded.status], [202, 202]);
			assert.equal(longest.body.description.length, 500);
			assert.equal(padded.body.description, "Book");
			assert.deepEqual(
				(await db.orderRows(userId)).map(o => o.description),
				["d".repeat(500), "Book"],
			);
		});

		it("When the body names another userId or a status, then they are ignored: the order is the caller's and NEW", async () => {
			const userId = newUserId();
			const victim = newUserId();

			const reply = await placeOrder(userId, {
				amount: 7,
				description: "sneaky",
				userId: victim,
				status: "FINISHED",
				id: randomUUID(),
			});

			assert.equal(reply.status, 202);
			assert.equal(reply.body.userId, userId);
			assert.equal(reply.body.status, "NEW");
			assert.equal((await db.footprint(userId)).orders, 1);
			assert.deepEqual(await db.footprint(victim), NOTHING);
		});
	});

	describe("lists", () => {
		for (const path of ["/api/orders", "/api/accounts/me/transactions"]) {
			for (const limit of ["0", "1001", "abc", "1.5", "-1"]) {
				it(`When GET ${path} has limit=${limit}, then it is 422 VALIDATION_ERROR on limit`, async () => {
					const userId = await fundedUser(0);
					assertInvalidField(await api("GET", `${path}?limit=${limit}`, { userId }), "limit");
				});
			}

			it(`When GET ${path} has limit=1 or limit=1000, then it is 200 (the bounds are inclusive)`, async () => {
				const userId = await fundedUser(0);
				const replies = [
					await api("GET", `${path}?limit=1`, { userId }),
					await api("GET", `${path}?limit=1000`, { userId }),
				];
				assert.deepEqual(
					replies.map(r => [r.status, Array.isArray(r.body)]),
					[
						[200, true],
						[200, true],
					],
				);
			});
		}

		it("When GET /api/orders has a before that is not a uuid, then it is 422 VALIDATION_ERROR on before", async () => {
			const reply = await api("GET", "/api/orders?before=42", { userId: newUserId() });
			assertInvalidField(reply, "before");
		});

		it("When GET /api/orders has before = another user's order (or an unknown uuid), then it is 422 INVALID_CURSOR", async () => {
			const owner = newUserId();
			const order = await placeOrder(owner, { amount: 5, description: "theirs" });
			const userId = newUserId();
			await placeOrder(userId, { amount: 5, description: "mine" });

			assertError(
				await api("GET", `/api/orders?before=${order.body.id}`, { userId }),
				422,
				"INVALID_CURSOR",
			);
			assertError(
				await api("GET", `/api/orders?before=${randomUUID()}`, { userId }),
				422,
				"INVALID_CURSOR",
			);
		});

		for (const before of ["abc", "1.5", "0", "99999999999999999999"]) {
			it(`When GET /api/accounts/me/transactions has before=${before}, then it is 422 VALIDATION_ERROR on before`, async () => {
				const userId = await fundedUser(0);
				assertInvalidField(
					await api("GET", `/api/accounts/me/transactions?before=${before}`, { userId }),
					"before",
				);
			});
		}

		it("When GET /api/accounts/me/transactions has before = another user's entry, then it is 422 INVALID_CURSOR", async () => {
			const owner = await fundedUser(0);
			await api("POST", "/api/accounts/me/top-ups", { userId: owner, body: { amount: 10 } });
			const [entry] = (await api("GET", "/api/accounts/me/transactions", { userId: owner })).body;
			const userId = await fundedUser(0);

			const reply = await api("GET", `/api/accounts/me/transactions?before=${entry.id}`, {
				userId,
			});

			assertError(reply, 422, "INVALID_CURSOR");
		});
	});

	describe("Idempotency-Key", () => {
		for (const [label, key] of [
			["256 characters", "k".repeat(256)],
			["empty", ""],
			["non-ASCII (é)", "caf\u00e9"],
		]) {
			it(`When an Idempotency-Key is ${label}, then it is 422 INVALID_IDEMPOTENCY_KEY and nothing is stored`, async () => {
				const userId = await fundedUser(0);
				const headers = { "Idempotency-Key": key };

				const order = await placeOrder(userId, { amount: 1, description: "k" }, headers);
				const topUp = await api("POST", "/api/accounts/me/top-ups", {
					userId,
					headers,
					body: { amount: 1 },
				});

				assertError(order, 422, "INVALID_IDEMPOTENCY_KEY");
				assertError(topUp, 422, "INVALID_IDEMPOTENCY_KEY");
				assert.deepEqual(await db.footprint(userId), ACCOUNT_ONLY);
			});
		}

		it("When an Idempotency-Key is 255 characters, then it is accepted", async () => {
			const userId = newUserId();

			const reply = await placeOrder(
				userId,
				{ amount: 1, description: "k" },
				{ "Idempotency-Key": "k".repeat(255) },
			);

			assert.equal(reply.status, 202);
			assert.equal((await db.footprint(userId)).ordersKeys, 1);
		});
	});
});
