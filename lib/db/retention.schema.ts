import type { Knex } from "knex";

/**
 * Indexes that let the retention sweeper find its oldest rows without a scan: each batch is
 * an index range read from the old end. Sent outbox rows already have outbox_messages_sent_at.
 * Plain CREATE INDEX (not CONCURRENTLY) because Knex runs a migration in a transaction; it
 * holds writes to the table while it builds, which is short on tables the sweeper keeps small.
 */
export async function createRetentionIndexes(knex: Knex): Promise<void> {
	await knex.raw(`
		CREATE INDEX IF NOT EXISTS inbox_messages_received_at ON inbox_messages (received_at);
		CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
	`);
}

export async function dropRetentionIndexes(knex: Knex): Promise<void> {
	await knex.raw(`
		DROP INDEX IF EXISTS inbox_messages_received_at;
		DROP INDEX IF EXISTS idempotency_keys_created_at;
	`);
}
