import type { Knex } from "knex";

/** Creates the outbox and inbox tables; each service's first migration calls this. */
export async function createMessagingTables(knex: Knex): Promise<void> {
	await knex.raw(`
		CREATE TABLE outbox_messages (
			id bigserial PRIMARY KEY,
			message_id uuid NOT NULL UNIQUE,
			queue text NOT NULL,
			payload jsonb NOT NULL,
			headers jsonb,
			created_at timestamptz NOT NULL DEFAULT now(),
			sent_at timestamptz
		);
		-- The relay only ever scans unsent rows; this keeps that scan small however many sent rows remain.
		CREATE INDEX outbox_messages_unsent ON outbox_messages (id) WHERE sent_at IS NULL;
		CREATE INDEX outbox_messages_sent_at ON outbox_messages (sent_at) WHERE sent_at IS NOT NULL;

		CREATE TABLE inbox_messages (
			message_id text NOT NULL,
			consumer text NOT NULL,
			received_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (message_id, consumer)
		);
	`);
}
