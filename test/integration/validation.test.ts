import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { gzipSync } from "zlib";
import { assertError, assertInvalidField } from "../support/assertions";
import { NOTHING } from "../support/footprint";
import { eventually, newUserId } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("Bad input through the HTTP API", () => {
	const { cluster, api, db } = clusterSuite({ nodes: ["gateway", "orders", "payments"] });

	async function userWithAccount(): Promise<number> {
		const userId = newUserId();
		assert.equal((await api("POST", "/api/accounts", { userId })).status, 201);
		return userId;
	}

	/** A user with an account and one top-up of `amount`; nothing else. */
	const ACCOUNT_ONLY = { ...NOTHING, accounts: 1 };

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

				const reply = await api("POST", "/api/orders", {
					userId,
					body: { ...withAmount(amount), description: "bad amount" },
					headers: { "Idempotency-Key": randomUUID() },
				});

				assertInvalidField(reply, "amount");
				assert.deepEqual(await db.footprint(userId), NOTHING);
			});

			it(`When a top-up's amount is ${label}, then it is 422 VALIDATION_ERROR and the balance and ledger are unchanged`, async () => {
				const userId = await userWithAccount();

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
			const funded = await userWithAccount();

			const low = await api("POST", "/api/orders", {
				userId,
				body: { amount: 1, description: "low" },
			});
			const high = await api("POST", "/api/orders", {
				userId,
				body: { amount: 1e12, description: "high" },
			});
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

				const reply = await api("POST", "/api/orders", {
					userId,
					body: { amount: 100, description },
				});

				assertInvalidField(reply, "description");
				assert.deepEqual(await db.footprint(userId), NOTHING);
			});
		}

		it("When the body is over 16 kB (20 kB of ASCII, or 10 kB of 2-byte characters), then it is 413 PAYLOAD_TOO_LARGE and nothing is stored", async () => {
			const userId = newUserId();

			const ascii = await api("POST", "/api/orders", {
				userId,
				body: { amount: 100, description: "d".repeat(20 * 1024) },
			});
			const cyrillic = await api("POST", "/api/orders", {
				userId,
				body: { amount: 100, description: "д".repeat(10 * 1024) },
			});

			assertError(ascii, 413, "PAYLOAD_TOO_LARGE");
			assertError(cyrillic, 413, "PAYLOAD_TOO_LARGE");
			assert.deepEqual(await db.footprint(userId), NOTHING);
		});

		it("When a description is 500 characters, or padded with spaces, then it is accepted and stored trimmed", async () => {
			const userId = newUserId();

			const longest = await api("POST", "/api/orders", {
				userId,
				body: { amount: 1, description: "d".repeat(500) },
			});
			const padded = await api("POST", "/api/orders", {
				userId,
				body: { amount: 1, description: "  Book  " },
			});

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

			const reply = await api("POST", "/api/orders", {
				userId,
				body: {
					amount: 7,
					description: "sneaky",
					userId: victim,
					status: "FINISHED",
					id: randomUUID(),
				},
			});

			assert.equal(reply.status, 202);
			assert.equal(reply.body.userId, userId);
			assert.equal(reply.body.status, "NEW");
			assert.equal((await db.footprint(userId)).orders, 1);
			assert.deepEqual(await db.footprint(victim), NOTHING);
		});
	});

	describe("malformed bodies", () => {
		const malformed: [string, string][] = [
			["cut-off JSON", '{"amount": 100, "descr'],
			["not JSON at all", "amount=100"],
			["a bare JSON string", '"hello"'],
			["JSON null", "null"],
		];

		for (const [label, rawBody] of malformed) {
			it(`When the body is ${label}, then it is 400 INVALID_JSON and nothing is stored`, async () => {
				const userId = await userWithAccount();

				const order = await api("POST", "/api/orders", { userId, rawBody });
				const topUp = await api("POST", "/api/accounts/me/top-ups", { userId, rawBody });

				assertError(order, 400, "INVALID_JSON");
				assertError(topUp, 400, "INVALID_JSON");
				assert.deepEqual(await db.footprint(userId), ACCOUNT_ONLY);
			});
		}
	});

	describe("undecodable bodies", () => {
		/** A POST with the exact bytes and headers given (apiClient always sends its own Content-Type). */
		async function rawPost(
			userId: number,
			path: string,
			headers: Record<string, string>,
			body: string | Buffer,
		) {
			const res = await fetch(cluster.apiUrl + path, {
				method: "POST",
				headers: { "X-User-ID": String(userId), ...headers },
				body,
			});
			return { status: res.status, body: JSON.parse(await res.text()) };
		}

		it("When the body is JSON nested thousands of levels deep, then it is 400 INVALID_JSON and nothing is stored", async () => {
			const userId = newUserId();
			const deepArray = "[".repeat(7000) + "]".repeat(7000);
			const deepObject = '{"a":'.repeat(2000) + "1" + "}".repeat(2000);

			const array = await api("POST", "/api/orders", { userId, rawBody: deepArray });
			const object = await api("POST", "/api/orders", { userId, rawBody: deepObject });

			assertError(array, 400, "INVALID_JSON");
			assertError(object, 400, "INVALID_JSON");
			assert.deepEqual(await db.footprint(userId), NOTHING);
		});

		it("When a body says Content-Encoding gzip, deflate, br or zstd but does not decode, then it is 400 INVALID_JSON and nothing is stored", async () => {
			const userId = newUserId();

			for (const encoding of ["gzip", "deflate", "br", "zstd"]) {
				const reply = await rawPost(
					userId,
					"/api/orders",
					{ "Content-Type": "application/json", "Content-Encoding": encoding },
					`not ${encoding}`,
				);
				assertError(reply, 400, "INVALID_JSON");
			}
			assert.deepEqual(await db.footprint(userId), NOTHING);
		});

		it("When a valid gzip JSON body is sent, then it is accepted", async () => {
			const userId = newUserId();
			const body = gzipSync(JSON.stringify({ amount: 5, description: "zipped" }));

			const reply = await rawPost(
				userId,
				"/api/orders",
				{ "Content-Type": "application/json", "Content-Encoding": "gzip" },
				body,
			);

			assert.equal(reply.status, 202);
			assert.equal(reply.body.description, "zipped");
		});

		it("When a body has an unsupported charset or Content-Encoding, then it is 415 UNSUPPORTED_MEDIA_TYPE and nothing is stored", async () => {
			const userId = newUserId();
			const json = JSON.stringify({ amount: 5, description: "x" });

			const charset = await rawPost(
				userId,
				"/api/orders",
				{ "Content-Type": "application/json; charset=latin1" },
				json,
			);
			const encoding = await rawPost(
				userId,
				"/api/orders",
				// gzip, deflate, br and zstd are decoded (body-parser 2); "compress" (LZW) is not.
				{ "Content-Type": "application/json", "Content-Encoding": "compress" },
				json,
			);

			assertError(charset, 415, "UNSUPPORTED_MEDIA_TYPE");
			assertError(encoding, 415, "UNSUPPORTED_MEDIA_TYPE");
			assert.deepEqual(await db.footprint(userId), NOTHING);
		});

		it("When a path parameter has broken %-encoding, then it is 400 UNABLE_DECODE_PARAM", async () => {
			const reply = await api("GET", "/api/orders/%E0%A4%A", { userId: newUserId() });
			assertError(reply, 400, "UNABLE_DECODE_PARAM");
		});
	});

	describe("not found", () => {
		for (const [label, id] of [
			["an unknown uuid", randomUUID()],
			["garbage", "not-an-id"],
			["200 characters of garbage", "x".repeat(200)],
		]) {
			it(`When a user reads an order by ${label}, then it is 404 ORDER_NOT_FOUND`, async () => {
				const reply = await api("GET", `/api/orders/${id}`, { userId: newUserId() });
				assertError(reply, 404, "ORDER_NOT_FOUND");
			});
		}

		it("When a user reads another user's order, then it is 404 ORDER_NOT_FOUND, while the owner reads it", async () => {
			const owner = newUserId();
			const order = await api("POST", "/api/orders", {
				userId: owner,
				body: { amount: 5, description: "mine" },
			});

			const peek = await api("GET", `/api/orders/${order.body.id}`, { userId: newUserId() });
			const own = await api("GET", `/api/orders/${order.body.id}`, { userId: owner });

			assertError(peek, 404, "ORDER_NOT_FOUND");
			assert.equal(own.status, 200);
		});

		it("When a user without an account reads it or its ledger, then it is 404 ACCOUNT_NOT_FOUND", async () => {
			const userId = newUserId();

			assertError(await api("GET", "/api/accounts/me", { userId }), 404, "ACCOUNT_NOT_FOUND");
			assertError(
				await api("GET", "/api/accounts/me/transactions", { userId }),
				404,
				"ACCOUNT_NOT_FOUND",
			);
		});

		it("When a user without an account tops up, then it is 404 ACCOUNT_NOT_FOUND and nothing is stored, not even the key", async () => {
			const userId = newUserId();

			const reply = await api("POST", "/api/accounts/me/top-ups", {
				userId,
				body: { amount: 100 },
				headers: { "Idempotency-Key": "top-up-without-account" },
			});

			assertError(reply, 404, "ACCOUNT_NOT_FOUND");
			assert.deepEqual(await db.footprint(userId), NOTHING);
		});

		it("When a user creates an account twice, then the second is 409 ACCOUNT_EXISTS and one account is stored", async () => {
			const userId = newUserId();

			const first = await api("POST", "/api/accounts", { userId });
			const second = await api("POST", "/api/accounts", { userId });

			assert.equal(first.status, 201);
			assertError(second, 409, "ACCOUNT_EXISTS");
			assert.deepEqual(await db.footprint(userId), ACCOUNT_ONLY);
		});

		for (const [method, path] of [
			["GET", "/api/nope"],
			["GET", "/nope"],
			["DELETE", "/api/orders"],
			["POST", "/api/orders/abc/cancel"],
			["GET", `/api/orders/${randomUUID()}/refund`],
			["POST", "/api/orders/summary"],
			["PUT", "/api/accounts/me"],
		]) {
			it(`When a client calls ${method} ${path}, then it is a 404 NOT_FOUND JSON body`, async () => {
				const reply = await api(method, path, { userId: newUserId() });
				assertError(reply, 404, "NOT_FOUND");
			});
		}
	});

	describe("lists", () => {
		for (const path of ["/api/orders", "/api/accounts/me/transactions"]) {
			for (const limit of ["0", "1001", "abc", "1.5", "-1"]) {
				it(`When GET ${path} has limit=${limit}, then it is 422 VALIDATION_ERROR on limit`, async () => {
					const userId = await userWithAccount();
					assertInvalidField(await api("GET", `${path}?limit=${limit}`, { userId }), "limit");
				});
			}

			it(`When GET ${path} has limit=1 or limit=1000, then it is 200 (the bounds are inclusive)`, async () => {
				const userId = await userWithAccount();
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
			const order = await api("POST", "/api/orders", {
				userId: owner,
				body: { amount: 5, description: "theirs" },
			});
			const userId = newUserId();
			await api("POST", "/api/orders", { userId, body: { amount: 5, description: "mine" } });

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
				const userId = await userWithAccount();
				assertInvalidField(
					await api("GET", `/api/accounts/me/transactions?before=${before}`, { userId }),
					"before",
				);
			});
		}

		it("When GET /api/accounts/me/transactions has before = another user's entry, then it is 422 INVALID_CURSOR", async () => {
			const owner = await userWithAccount();
			await api("POST", "/api/accounts/me/top-ups", { userId: owner, body: { amount: 10 } });
			const [entry] = (await api("GET", "/api/accounts/me/transactions", { userId: owner })).body;
			const userId = await userWithAccount();

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
				const userId = await userWithAccount();
				const headers = { "Idempotency-Key": key };

				const order = await api("POST", "/api/orders", {
					userId,
					headers,
					body: { amount: 1, description: "k" },
				});
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

			const reply = await api("POST", "/api/orders", {
				userId,
				headers: { "Idempotency-Key": "k".repeat(255) },
				body: { amount: 1, description: "k" },
			});

			assert.equal(reply.status, 202);
			assert.equal((await db.footprint(userId)).ordersKeys, 1);
		});
	});

	describe("refunds", () => {
		/** A user whose one order of 100 is FINISHED, and what is stored for them. */
		async function finishedOrder() {
			const userId = await userWithAccount();
			await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 100 } });
			const order = await api("POST", "/api/orders", {
				userId,
				body: { amount: 100, description: "kept" },
			});
			await eventually(
				async () =>
					(await api("GET", `/api/orders/${order.body.id}`, { userId })).body.status === "FINISHED",
				"the order to finish",
			);
			return { userId, id: order.body.id as string, stored: await db.footprint(userId) };
		}

		async function unchanged(f: { userId: number; id: string; stored: Record<string, number> }) {
			assert.deepEqual(await db.footprint(f.userId), f.stored);
			assert.equal((await db.orders("orders").where({ id: f.id }).first()).status, "FINISHED");
			assert.equal(await db.balance(f.userId), 0);
		}

		for (const [label, id] of [
			["an unknown uuid", randomUUID()],
			["garbage", "not-an-id"],
			["200 characters of garbage", "x".repeat(200)],
			['"summary"', "summary"],
		]) {
			it(`When a refund names ${label}, then it is 404 ORDER_NOT_FOUND and nothing is stored`, async () => {
				const f = await finishedOrder();

				const reply = await api("POST", `/api/orders/${id}/refund`, {
					userId: f.userId,
					headers: { "Idempotency-Key": randomUUID() },
				});

				assertError(reply, 404, "ORDER_NOT_FOUND");
				await unchanged(f);
			});
		}

		it("When a refund's body is not JSON, then it is 400 INVALID_JSON and the order is not refunded", async () => {
			const f = await finishedOrder();

			const reply = await api("POST", `/api/orders/${f.id}/refund`, {
				userId: f.userId,
				rawBody: '{"id": ',
			});

			assertError(reply, 400, "INVALID_JSON");
			await unchanged(f);
		});

		it("When a refund's Idempotency-Key is 256 characters, then it is 422 INVALID_IDEMPOTENCY_KEY and the order is not refunded", async () => {
			const f = await finishedOrder();

			const reply = await api("POST", `/api/orders/${f.id}/refund`, {
				userId: f.userId,
				headers: { "Idempotency-Key": "k".repeat(256) },
			});

			assertError(reply, 422, "INVALID_IDEMPOTENCY_KEY");
			await unchanged(f);
		});

		it("When a refund's path has broken %-encoding, then it is 400 UNABLE_DECODE_PARAM", async () => {
			assertError(
				await api("POST", "/api/orders/%E0%A4%A/refund", { userId: newUserId() }),
				400,
				"UNABLE_DECODE_PARAM",
			);
		});
	});

	describe("internal errors", () => {
		it("When a request fails inside a service (a database error), then it is a bare 500 INTERNAL_ERROR without SQL or stack, and nothing is stored", async () => {
			const userId = newUserId();
			// Break the one table only an Idempotency-Key request touches, for this one request.
			await db.orders.raw("ALTER TABLE idempotency_keys RENAME TO idempotency_keys_hidden");
			let reply;
			try {
				reply = await api("POST", "/api/orders", {
					userId,
					headers: { "Idempotency-Key": "breaks" },
					body: { amount: 1, description: "internal error" },
				});
			} finally {
				await db.orders.raw("ALTER TABLE idempotency_keys_hidden RENAME TO idempotency_keys");
			}

			assertError(reply, 500, "INTERNAL_ERROR");
			assert.deepEqual(reply.body, {
				name: "InternalServerError",
				message: "Internal server error",
				code: 500,
				type: "INTERNAL_ERROR",
			});
			assert.deepEqual(await db.footprint(userId), NOTHING);
		});
	});
});
