import { Client } from "pg";
import { migrationSources, DatabaseName } from "../../migrations";
import { createKnex } from "./knex";
import { ensureDatabase } from "./ensure-database";

/** The advisory lock (in the migrated database) that lets one node at a time migrate it. */
const MIGRATION_LOCK = 0x6d696772; // "migr"

/**
 * Creates the database if missing and applies pending migrations. Nodes of a fresh install
 * start together: Knex's own lock table does not exist before the first of them creates it,
 * and a second node then fails on the same CREATE TABLE, so one session-level advisory lock
 * in that database takes them in turn; the later ones find nothing left to apply.
 */
export async function migrateDatabase(which: DatabaseName, url: string): Promise<string[]> {
	await ensureDatabase(url);
	const lock = new Client({
		connectionString: url,
		application_name: `gozon-migrate-lock-${which}`,
	});
	await lock.connect();
	try {
		await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
		const knex = createKnex({ url, poolMax: 2, applicationName: `gozon-migrate-${which}` });
		try {
			const [, applied] = await knex.migrate.latest({ migrationSource: migrationSources[which] });
			return applied as string[];
		} finally {
			await knex.destroy();
		}
	} finally {
		// Ending the session releases the lock too; unlock first so the next node need not wait for it.
		await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
		await lock.end();
	}
}
