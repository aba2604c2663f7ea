import type { Knex } from "knex";

/**
 * Remembers which messages a consumer has handled. Recording happens in the same transaction
 * as the business write, so a redelivered message is recognised whether it came before or
 * after the crash that caused the redelivery.
 */
export class InboxStore {
	constructor(
		private readonly consumer: string,
		private readonly table = "inbox_messages",
	) {}

	/** Records the ids and returns those never seen before (duplicates are left out). */
	async recordNew(trx: Knex.Transaction, messageIds: string[]): Promise<Set<string>> {
		const unique = [...new Set(messageIds)];
		if (!unique.length) return new Set();
		const { rows } = await trx.raw(
			`INSERT INTO ${this.table} (message_id, consumer)
			 SELECT id, ? FROM unnest(?::text[]) AS id
			 ON CONFLICT DO NOTHING
			 RETURNING message_id`,
			[this.consumer, unique],
		);
		return new Set(rows.map((r: { message_id: string }) => r.message_id));
	}
}
