import type { Knex } from "knex";
import { createRetentionIndexes, dropRetentionIndexes } from "../../lib/db/retention.schema";

export async function up(knex: Knex): Promise<void> {
	// The stuck-order sweeper's bookkeeping: how often an order's payment was requested again,
	// and not before when it may be again (a constant default adds the columns without a rewrite).
	await knex.raw(`
		ALTER TABLE orders
			ADD COLUMN sweep_attempts int NOT NULL DEFAULT 0,
			ADD COLUMN next_sweep_at timestamptz;
		-- Only NEW orders are ever swept; this keeps the sweep's scan to the orders in flight.
		CREATE INDEX orders_new_by_age ON orders (created_at) WHERE status = 'NEW';
	`);
	await createRetentionIndexes(knex);
}

export async function down(knex: Knex): Promise<void> {
	await dropRetentionIndexes(knex);
	await knex.raw(`
		DROP INDEX orders_new_by_age;
		ALTER TABLE orders DROP COLUMN next_sweep_at, DROP COLUMN sweep_attempts;
	`);
}
