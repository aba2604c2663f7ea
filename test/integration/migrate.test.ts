import { strict as assert } from "assert";
import { Client } from "pg";
import { migrateDatabase } from "../../lib/db/migrate";
import { testEnv } from "../support/env";

/** Nodes of a fresh install start together: each creates and migrates its database. */
describe("Database creation and migration at start-up", () => {
	const url = testEnv.ORDERS_DATABASE_URL.replace(/\/([^/]+)$/, "/$1_race");
	const name = new URL(url).pathname.slice(1);

	async function dropDatabase() {
		const admin = new Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
		await admin.connect();
		try {
			await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
		} finally {
			await admin.end();
		}
	}

	before(dropDatabase);
	after(dropDatabase);

	it("When three nodes create and migrate the same missing database at once, then all three start and the schema is there once", async () => {
		const results = await Promise.allSettled([1, 2, 3].map(() => migrateDatabase("orders", url)));

		assert.deepEqual(
			results.map(r => (r.status === "rejected" ? String((r.reason as Error).message) : "ok")),
			["ok", "ok", "ok"],
		);
		const applied = results.flatMap(r => (r.status === "fulfilled" ? r.value : []));
		assert.ok(applied.length > 0, "one of them applied the migrations");
		assert.equal(new Set(applied).size, applied.length, "no migration applied twice");
	});
});
