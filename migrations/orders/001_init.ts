import type { Knex } from "knex";
import { createIdempotencyTable } from "../../lib/db/idempotency.store";
import { createMessagingTables } from "../../lib/messaging/schema";

export async function up(knex: Knex): Promise<void> {
	await knex.raw(`
		CREATE TABLE orders (
			-- Insertion order for stable newest-first pages; never exposed.
			seq bigserial NOT NULL UNIQUE,
			id uuid PRIMARY KEY,
			user_id bigint NOT NULL CHECK (user_id > 0),
			amount bigint NOT NULL CHECK (amount > 0),
			description text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 500),
			status text NOT NULL DEFAULT 'NEW' CHECK (status IN ('NEW', 'FINISHED', 'CANCELLED')),
			cancel_reason text CHECK (cancel_reason IN ('INSUFFICIENT_FUNDS', 'ACCOUNT_NOT_FOUND')),
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now(),
			CHECK ((status = 'CANCELLED') = (cancel_reason IS NOT NULL))
		);
		CREATE INDEX orders_user_newest ON orders (user_id, seq DESC);
	`);
	await createMessagingTables(knex);
	await createIdempotencyTable(knex);
}

export async function down(knex: Knex): Promise<void> {
	await knex.raw("DROP TABLE idempotency_keys, inbox_messages, outbox_messages, orders");
}
