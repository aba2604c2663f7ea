import { strict as assert } from "assert";
import { Errors } from "moleculer";
import { OrderNotFoundError, toPublicError } from "../../lib/errors";

/** A PostgreSQL error as it reaches the gateway from another node: name, message and code. */
const pgError = (code: string, message: string) =>
	Object.assign(new Error(message), { name: "error", code });

describe("What a client sees of an error (toPublicError)", () => {
	it("When the database is restarting, failing over or overloaded, then the client gets a 503 SERVICE_UNAVAILABLE without the database's words", () => {
		for (const err of [
			pgError("57P01", "terminating connection due to administrator command"),
			pgError("25006", "cannot execute INSERT in a read-only transaction"),
			pgError("53300", "sorry, too many clients already"),
			pgError("08006", "connection failure"),
			Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
			new Error("Connection terminated unexpectedly"),
			Object.assign(new Error("Knex: Timeout acquiring a connection"), {
				name: "KnexTimeoutError",
			}),
		]) {
			const out = toPublicError(err);
			assert.deepEqual(
				out,
				{
					name: "ServiceUnavailableError",
					message: "The service is temporarily unavailable, try again shortly",
					code: 503,
					type: "SERVICE_UNAVAILABLE",
				},
				err.message,
			);
		}
	});

	it("When a statement is wrong (a bug, not an outage), then the client gets a bare 500 that names no SQL", () => {
		const out = toPublicError(pgError("42601", 'syntax error at or near "SELEC"'));
		assert.deepEqual(out, {
			name: "InternalServerError",
			message: "Internal server error",
			code: 500,
			type: "INTERNAL_ERROR",
		});
		// Moleculer's own errors carry numeric codes; a 500 stays a 500.
		assert.equal(toPublicError(new Errors.MoleculerServerError("boom", 500, "X")).code, 500);
	});

	it("When no node can take the call, then it is a 503; a client error keeps its code and type", () => {
		assert.equal(
			toPublicError(new Errors.ServiceNotAvailableError({ action: "orders.create" })).code,
			503,
		);
		assert.equal(
			toPublicError(new Errors.RequestTimeoutError({ action: "orders.create" })).code,
			503,
		);
		const notFound = toPublicError(new OrderNotFoundError("x"));
		assert.equal(notFound.code, 404);
		assert.equal(notFound.type, "ORDER_NOT_FOUND");
	});
});
