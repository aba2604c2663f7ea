import { strict as assert } from "assert";
import { migrateDatabase } from "../../lib/db/migrate";
import { testEnv } from "../support/env";
import { dropDatabase } from "../support/root-hooks";

/** Nodes of a fresh install start together: each creates and migrates its database. */
describe("Database creation and migration at start-up", () => {
	const url = testEnv.ORDERS_DATABASE_URL.replace(/\/([^/]+)$/, "/$1_race");

	const drop = () => dropDatabase(url);

	before(drop);
	after(drop);

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
