import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { gzipSync } from "zlib";
import { assertError } from "../support/assertions";
import { ACCOUNT_ONLY, NOTHING } from "../support/footprint";
import { newUserId, type RequestOptions } from "../support/http";
import { clusterSuite } from "../support/suite";

/**
 * Requests the API cannot serve: bodies that do not parse or decode, unknown ids and paths,
 * refunds of orders that are not there, and a failure inside a service (bad fields and
 * headers: validation.test.ts).
 */
describe("Bad input through the HTTP API", () => {
	const { cluster, api, db, fundedUser, settledOrder } = clusterSuite({
		nodes: ["gateway", "orders", "payments"],
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
				const userId = await fundedUser(0);

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

	describe("refunds", () => {
		/**
		 * For a user whose one order of 100 is FINISHED, asks a refund of `id` (that order unless
		 * given) with `request`; asserts the refusal, and that the order, the balance and every
		 * stored row are as they were.
		 */
		async function assertRefundRefused(
			{ id, ...request }: RequestOptions & { id?: string },
			status: number,
			type: string,
		) {
			const userId = await fundedUser(100);
			const finished = await settledOrder(userId, 100);
			const stored = await db.footprint(userId);

			const reply = await api("POST", `/api/orders/${id ?? finished}/refund`, {
				userId,
				...request,
			});

			assertError(reply, status, type);
			assert.deepEqual(await db.footprint(userId), stored);
			assert.equal((await db.orders("orders").where({ id: finished }).first()).status, "FINISHED");
			assert.equal(await db.balance(userId), 0);
		}

		for (const [label, id] of [
			["an unknown uuid", randomUUID()],
			["garbage", "not-an-id"],
			["200 characters of garbage", "x".repeat(200)],
			['"summary"', "summary"],
		]) {
			it(`When a refund names ${label}, then it is 404 ORDER_NOT_FOUND and nothing is stored`, () =>
				assertRefundRefused(
					{ id, headers: { "Idempotency-Key": randomUUID() } },
					404,
					"ORDER_NOT_FOUND",
				));
		}

		it("When a refund's body is not JSON, then it is 400 INVALID_JSON and the order is not refunded", () =>
			assertRefundRefused({ rawBody: '{"id": ' }, 400, "INVALID_JSON"));

		it("When a refund's Idempotency-Key is 256 characters, then it is 422 INVALID_IDEMPOTENCY_KEY and the order is not refunded", () =>
			assertRefundRefused(
				{ headers: { "Idempotency-Key": "k".repeat(256) } },
				422,
				"INVALID_IDEMPOTENCY_KEY",
			));

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
