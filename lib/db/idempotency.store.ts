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

const hash = (body: unknown) =>
	createHash("sha256")
		.update(JSON.stringify(body ?? null))
		.digest("hex");

/**
 * Runs `work` in a transaction, at most once per (user, scope, Idempotency-Key). The key row
 * is written in the same transaction as the effect: a repeat waits for the first request's
 * commit, then gets its stored response; if the first failed, nothing was stored and the
 * repeat runs afresh. The same key with another body is refused. Keys are deleted after
 * IDEMPOTENCY_RETENTION_HOURS: a retry after that is a new request.
 */
export async function runIdempotent<T>(
	knex: Knex,
	req: IdempotentRequest,
	work: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
	const key = req.key;
	if (key === undefined) return knex.transaction(work);
	const requestHash = hash(req.body);
	return knex.transaction(async trx => {
		// ONE statement claims the key or locks and reads the stored one. As two (insert, then
		// read on conflict), a key purged by the retention sweep between them would read
		// nothing and fail the retry; here PostgreSQL retries the insert if the conflicting row
		// is deleted meanwhile. The no-op update is what makes ON CONFLICT return that row;
		// xmax = 0 tells a fresh insert apart.
		const { rows } = await trx.raw(
			`INSERT INTO idempotency_keys (user_id, scope, key, request_hash) VALUES (?, ?, ?, ?)
			 ON CONFLICT (user_id, scope, key) DO UPDATE SET key = excluded.key
			 RETURNING (xmax = 0) AS inserted, request_hash, response`,
			[req.userId, req.scope, key, requestHash],
		);
		const claim = rows[0] as { inserted: boolean; request_hash: string; response: T };
		if (!claim.inserted) {
			if (claim.request_hash !== requestHash) throw new IdempotencyKeyReusedError();
			return claim.response;
		}
		const result = await work(trx);
		await trx("idempotency_keys")
			.where({ user_id: req.userId, scope: req.scope, key })
			.update({ response: JSON.stringify(result) });
		return result;
	});
}
