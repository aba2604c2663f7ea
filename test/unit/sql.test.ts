import { strict as assert } from "assert";
import { sql, trustedSql } from "../../lib/db/sql";

describe("SQL fragments with their values in place (lib/db/sql.ts)", () => {
	it("When a fragment is spliced into a CTE, then its values are bound where it stands, between the statement's own", () => {
		const fragment = sql`INSERT INTO ${trustedSql("outbox_messages")} (queue) SELECT ${"q"} FROM unnest(${[1, 2]}::int[])`;
		const { sql: text, bindings } =
			sql`WITH o AS (SELECT ${"a"}::text), m AS (${fragment}) SELECT ${["b"]}::text[]`.render();
		assert.equal(
			text,
			"WITH o AS (SELECT ?::text), m AS (INSERT INTO outbox_messages (queue) SELECT ? FROM unnest(?::int[])) SELECT ?::text[]",
		);
		assert.deepEqual(bindings, ["a", "q", [1, 2], ["b"]]);
	});

	it("When the same statement runs with other values, then its text is the same (prepared once)", () => {
		const statement = (ids: string[], inner: string) =>
			sql`SELECT ${ids}::uuid[], (${sql`SELECT ${inner}`})`;
		assert.equal(statement(["x"], "y").render().sql, statement(["z", "w"], "v").render().sql);
	});

	it("When the text holds a literal ?, then rendering refuses it (knex would shift every value after it)", () => {
		assert.throws(() => sql`SELECT '{"a":1}'::jsonb ? ${"a"}`.render(), /must not contain "\?"/);
	});
});
