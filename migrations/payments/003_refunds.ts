import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
	await knex.raw(`
		-- One refund per order, and only of an order payments decided (the use case checks it
		-- was paid, to this user, for this amount): the primary key makes a second credit
		-- impossible whatever is redelivered or replayed, even under a new message id.
		CREATE TABLE order_refunds (
			order_id uuid PRIMARY KEY REFERENCES order_payments (order_id),
			user_id bigint NOT NULL,
			amount bigint NOT NULL CHECK (amount > 0),
			created_at timestamptz NOT NULL DEFAULT now()
		);

		-- The ledger gains ORDER_REFUND (+amount, with its order). An order now has up to two
		-- entries, a debit and a refund, each at most once. New checks are added NOT VALID and
		-- validated after, so validating scans without blocking writes.
		ALTER TABLE account_transactions
			DROP CONSTRAINT account_transactions_kind_check,
			DROP CONSTRAINT account_transactions_check,
			DROP CONSTRAINT account_transactions_check1,
			DROP CONSTRAINT account_transactions_order_id_key,
			ADD CONSTRAINT account_transactions_kind_check
				CHECK (kind IN ('TOP_UP', 'ORDER_PAYMENT', 'ORDER_REFUND')) NOT VALID,
			ADD CONSTRAINT account_transactions_order_check
				CHECK ((kind = 'TOP_UP') = (order_id IS NULL)) NOT VALID,
			ADD CONSTRAINT account_transactions_sign_check
				CHECK ((kind = 'ORDER_PAYMENT') = (amount < 0)) NOT VALID;
		ALTER TABLE account_transactions VALIDATE CONSTRAINT account_transactions_kind_check;
		ALTER TABLE account_transactions VALIDATE CONSTRAINT account_transactions_order_check;
		ALTER TABLE account_transactions VALIDATE CONSTRAINT account_transactions_sign_check;
		CREATE UNIQUE INDEX account_transactions_order_kind ON account_transactions (order_id, kind)
			WHERE order_id IS NOT NULL;
	`);
}

export async function down(knex: Knex): Promise<void> {
	// Fails while a refund exists in the ledger: its entries cannot be expressed without it.
	await knex.raw(`
		DROP INDEX account_transactions_order_kind;
		ALTER TABLE account_transactions
			DROP CONSTRAINT account_transactions_sign_check,
			DROP CONSTRAINT account_transactions_order_check,
			DROP CONSTRAINT account_transactions_kind_check,
			ADD CONSTRAINT account_transactions_kind_check CHECK (kind IN ('TOP_UP', 'ORDER_PAYMENT')),
			ADD CONSTRAINT account_transactions_check CHECK ((kind = 'ORDER_PAYMENT') = (order_id IS NOT NULL)),
			ADD CONSTRAINT account_transactions_check1 CHECK ((kind = 'TOP_UP') = (amount > 0)),
			ADD CONSTRAINT account_transactions_order_id_key UNIQUE (order_id);
		DROP TABLE order_refunds;
	`);
}
