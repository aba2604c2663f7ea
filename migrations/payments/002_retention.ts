import type { Knex } from "knex";
import { createRetentionIndexes, dropRetentionIndexes } from "../../lib/db/retention.schema";

export async function up(knex: Knex): Promise<void> {
	await createRetentionIndexes(knex);
}

export async function down(knex: Knex): Promise<void> {
	await dropRetentionIndexes(knex);
}
