import { migrationSources, DatabaseName } from "../../migrations";
import { createKnex } from "./knex";
import { ensureDatabase } from "./ensure-database";

/** Creates the database if missing and applies pending migrations (Knex locks, so nodes may race). */
export async function migrateDatabase(which: DatabaseName, url: string): Promise<string[]> {
	await ensureDatabase(url);
	const knex = createKnex({ url, poolMax: 2, applicationName: `gozon-migrate-${which}` });
	try {
		const [, applied] = await knex.migrate.latest({ migrationSource: migrationSources[which] });
		return applied as string[];
	} finally {
		await knex.destroy();
	}
}
