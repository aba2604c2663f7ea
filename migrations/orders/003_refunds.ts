import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
	// The wider CHECK is added NOT VALID and validated afterwards: validation scans the table
	// under a lock that lets orders be written meanwhile, instead of blocking them all.
	await knex.raw(`
		ALTER TABLE orders
			DROP CONSTRAINT orders_status_check,
			ADD CONSTRAINT orders_status_check
				CHECK (status IN ('NEW', 'FINISHED', 'CANCELLED', 'REFUNDING', 'REFUNDED')) NOT VALID;
		ALTER TABLE orders VALIDATE CONSTRAINT orders_status_check;
		-- GET /api/orders/summary groups one user's orders by status and sums their amounts: with
		-- amount included this is an index-only scan, however many orders the user has.
		CREATE INDEX orders_user_status ON orders (user_id, status) INCLUDE (amount);
		-- The stuck-order sweeper's scan of refunds in flight, by when they were requested.
		CREATE INDEX orders_refunding_by_age ON orders (updated_at) WHERE status = 'REFUNDING';
	`);
}

export async function down(knex: Knex): Promise<void> {
	// Fails while a refunded or refunding order exists: those statuses cannot be taken back.
	await knex.raw(`
		DROP INDEX orders_refunding_by_age;
		DROP INDEX orders_user_status;
		ALTER TABLE orders
			DROP CONSTRAINT orders_status_check,
			ADD CONSTRAINT orders_status_check CHECK (status IN ('NEW', 'FINISHED', 'CANCELLED'));
	`);
}
