import { Sql, sql, trustedSql } from "../db/sql";

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

	/**
	 * The inbox insert as SQL for a data-modifying CTE: it returns the ids never seen before
	 * (duplicates are left out), so a consumer records its messages and applies the new ones
	 * in ONE statement.
	 */
	recordNewFragment(messageIds: string[]): Sql {
		return sql`INSERT INTO ${trustedSql(this.table)} (message_id, consumer)
			      SELECT DISTINCT id, ${this.consumer} FROM unnest(${messageIds}::text[]) AS id
			      ON CONFLICT DO NOTHING
			      RETURNING message_id`;
	}
}
