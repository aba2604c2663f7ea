import { strict as assert } from "assert";
import type { Reply } from "./http";

const ERROR_KEYS = ["name", "message", "code", "type", "data"];

/**
 * Asserts an error answer: the status, its stable `type`, and a body of the public error
 * shape only ({ name, message, code, type, data? }) — no stack, SQL or other internals.
 */
export function assertError(reply: Reply, status: number, type: string): void {
	assert.equal(
		reply.status,
		status,
		`expected ${status} ${type}, got ${reply.status} ${JSON.stringify(reply.body)}`,
	);
	assert.ok(
		reply.body && typeof reply.body === "object" && !Array.isArray(reply.body),
		"error body is a JSON object",
	);
	assert.equal(reply.body.type, type);
	assert.equal(reply.body.code, status);
	assert.equal(typeof reply.body.name, "string");
	assert.equal(typeof reply.body.message, "string");
	const extra = Object.keys(reply.body).filter(k => !ERROR_KEYS.includes(k));
	assert.deepEqual(extra, [], "error body has only name, message, code, type, data");
}

/** Asserts a 422 VALIDATION_ERROR that names the failed field. */
export function assertInvalidField(reply: Reply, field: string): void {
	assertError(reply, 422, "VALIDATION_ERROR");
	const fields = (reply.body.data ?? []).map((d: { field: string }) => d.field);
	assert.ok(
		fields.includes(field),
		`expected ${field} among the failed fields, got ${JSON.stringify(fields)}`,
	);
}
