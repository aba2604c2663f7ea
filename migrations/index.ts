import type { Knex } from "knex";
import * as orders001 from "./orders/001_init";
import * as orders002 from "./orders/002_sweeps";
import * as orders003 from "./orders/003_refunds";
import * as payments001 from "./payments/001_init";
import * as payments002 from "./payments/002_retention";
import * as payments003 from "./payments/003_refunds";

type Migration = { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> };

/** Migrations listed in code, so they run the same from TypeScript sources and from dist/. */
class ListedMigrations implements Knex.MigrationSource<string> {
	constructor(private readonly migrations: Record<string, Migration>) {}
	async getMigrations() {
		return Object.keys(this.migrations).sort();
	}
	getMigrationName(name: string) {
		return name;
	}
	async getMigration(name: string) {
		return this.migrations[name];
	}
}

export const migrationSources = {
	orders: new ListedMigrations({
		"001_init": orders001,
		"002_sweeps": orders002,
		"003_refunds": orders003,
	}),
	payments: new ListedMigrations({
		"001_init": payments001,
		"002_retention": payments002,
		"003_refunds": payments003,
	}),
};

export type DatabaseName = keyof typeof migrationSources;
