import type { Knex } from "knex";
import type { PoolClient, QueryResult } from "pg";
import type { Sql } from "./sql";

/**
 * A named prepared statement for the hot path. Knex sends every query unnamed, so PostgreSQL
 * parses and plans it again on every execution; our hot statements are multi-CTE ones over
 * unnest() whose planning costs about as much as running them. Named, each connection parses
 * it once and reuses the plan. Written with knex's `?` placeholders (turned into $1, $2… once),
 * run on a knex instance (a pooled connection) or a knex transaction (its own connection).
 */
export class PreparedStatement<Row = Record<string, unknown>> {
	readonly text: string;

	constructor(
		readonly name: string,
		sql: string,
	) {
		let n = 0;
		this.text = sql.replace(/\?/g, () => `$${++n}`);
	}

	async rows(db: Knex | Knex.Transaction, values: unknown[]): Promise<Row[]> {
		// A transaction's client hands out its own connection and its release is a no-op.
		const client = db.client as Knex.Client;
		const conn = (await client.acquireConnection()) as PoolClient;
		try {
			const result: QueryResult = await conn.query({ name: this.name, text: this.text, values });
			return result.rows as Row[];
		} finally {
			await client.releaseConnection(conn);
		}
	}
}

const statements = new Map<string, PreparedStatement<never>>();

/**
 * The prepared statement for this SQL text, made once per process. Statements built from
 * fragments (an outbox insert embedded in a CTE) have a fixed text, so the text is the key; the
 * name only has to be unique on a connection.
 */
export function prepared<Row = Record<string, unknown>>(
	name: string,
	sql: string,
): PreparedStatement<Row> {
	let statement = statements.get(sql);
	if (!statement) {
		statement = new PreparedStatement<never>(`${name}#${statements.size}`, sql);
		statements.set(sql, statement);
	}
	return statement as unknown as PreparedStatement<Row>;
}

/** Runs a statement built with `sql` (its fragments spliced in) as the prepared statement of its text. */
export async function runPrepared<Row = Record<string, unknown>>(
	db: Knex | Knex.Transaction,
	name: string,
	statement: Sql,
): Promise<Row[]> {
	const { sql, bindings } = statement.render();
	const rows = await prepared<Row>(name, sql).rows(db, bindings);
	statement.ran(db);
	return rows;
}
