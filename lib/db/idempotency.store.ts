import { createHash } from "crypto";
import type { Knex } from "knex";
import { IdempotencyKeyReusedError } from "../errors";

export interface IdempotentRequest {
	/** The action the key belongs to, e.g. "orders.create". */
	scope: string;
	userId: number;
	key?: string;
	/** What makes two requests "the same": the parsed body. */
	body: unknown;
}

export async function createIdempotencyTable(knex: Knex): Promise<void> {
	await knex.raw(`
		CREATE TABLE idempotency_keys (
			user_id bigint NOT NULL,
			scope text NOT NULL,
			key text NOT NULL,
			request_hash text NOT NULL,
			response jsonb,
			created_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (user_id, scope, key)
		)
	`);
}

const hash = (body: unknown) => createHash("sha256").update(JSON.stringify(body ?? null)).digest("hex");

/**
 * Runs `work` in a transaction, at most once per (user, scope, Idempotency-Key). The key row
 * is written in the same transaction as the effect: a repeat waits for the first request's
 * commit, then gets its stored response; if the first failed, nothing was stored and the
 * repeat runs afresh. The same key with another body is refused.
 */
export async function runIdempotent<T>(
	knex: Knex,
	req: IdempotentRequest,
	work: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
	if (req.key === undefined) return knex.transaction(work);
	const requestHash = hash(req.body);
	return knex.transaction(async trx => {
		const inserted = await trx("idempotency_keys")
			.insert({ user_id: req.userId, scope: req.scope, key: req.key, request_hash: requestHash })
			.onConflict(["user_id", "scope", "key"])
			.ignore()
			.returning("key");
		if (!inserted.length) {
			const first = await trx("idempotency_keys")
				.where({ user_id: req.userId, scope: req.scope, key: req.key })
				.first();
			if (first.request_hash !== requestHash) throw new IdempotencyKeyReusedError();
			return first.response as T;
		}
		const result = await work(trx);
		await trx("idempotency_keys")
			.where({ user_id: req.userId, scope: req.scope, key: req.key })
			.update({ response: JSON.stringify(result) });
		return result;
	});
}
