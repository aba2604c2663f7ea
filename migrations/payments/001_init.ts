import type { Knex } from "knex";
import { createIdempotencyTable } from "../../lib/db/idempotency.store";
import { createMessagingTables } from "../../lib/messaging/schema";

export async function up(knex: Knex): Promise<void> {
	await knex.raw(`
		CREATE TABLE accounts (
			user_id bigint PRIMARY KEY CHECK (user_id > 0),
			balance bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
			currency char(3) NOT NULL DEFAULT 'RUB',
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);

		-- The ledger: a balance always equals the sum of its account's entries.
		CREATE TABLE account_transactions (
			id bigserial PRIMARY KEY,
			user_id bigint NOT NULL REFERENCES accounts (user_id),
			kind text NOT NULL CHECK (kind IN ('TOP_UP', 'ORDER_PAYMENT')),
			amount bigint NOT NULL CHECK (amount <> 0),
			balance_after bigint NOT NULL CHECK (balance_after >= 0),
			-- One debit per order, whatever is redelivered or replayed.
			order_id uuid UNIQUE,
			created_at timestamptz NOT NULL DEFAULT now(),
			CHECK ((kind = 'ORDER_PAYMENT') = (order_id IS NOT NULL)),
			CHECK ((kind = 'TOP_UP') = (amount > 0))
		);
		CREATE INDEX account_transactions_user_newest ON account_transactions (user_id, id DESC);

		-- One decision per order (paid or refused), so a result is never produced twice.
		CREATE TABLE order_payments (
			order_id uuid PRIMARY KEY,
			user_id bigint NOT NULL,
			amount bigint NOT NULL CHECK (amount > 0),
			status text NOT NULL CHECK (status IN ('PAID', 'REFUSED')),
			reason text CHECK (reason IN ('INSUFFICIENT_FUNDS', 'ACCOUNT_NOT_FOUND')),
			created_at timestamptz NOT NULL DEFAULT now(),
			CHECK ((status = 'REFUSED') = (reason IS NOT NULL))
		);
	`);
	await createMessagingTables(knex);
	await createIdempotencyTable(knex);
}

export async function down(knex: Knex): Promise<void> {
	await knex.raw(
		"DROP TABLE idempotency_keys, inbox_messages, outbox_messages, order_payments, account_transactions, accounts",
	);
}
