import type { Knex } from "knex";

/** Called when a statement has run without error, with the connection or transaction it ran on. */
export type RanHook = (db: Knex | Knex.Transaction) => void;

type Scalar = string | number | boolean | Date | null;
/** A parameter as pg sends it: a scalar, or an array of them (a column for unnest). */
export type SqlValue = Scalar | readonly Scalar[];

/**
 * A statement or a fragment of one, written as a tagged template: each `${value}` is a
 * parameter where it stands, each `${sql`…`}` is a fragment spliced with its own parameters.
 * A fragment made in one module (an outbox insert) and embedded in another's statement (a
 * CTE) carries its values with it, so moving a CTE cannot mis-bind them. It renders knex's
 * `?` placeholders; the text depends only on the statement's shape, never on the values, so a
 * prepared statement made from it is prepared once (lib/db/prepared.ts).
 */
export class Sql {
	constructor(
		private readonly strings: readonly string[],
		private readonly values: readonly (SqlValue | Sql)[],
		private readonly onRun: readonly RanHook[] = [],
	) {}

	/**
	 * The same statement, with `hook` called once the statement containing it has run without
	 * error (runSql, runPrepared): how an outbox insert learns that its rows were written.
	 */
	whenRun(hook: RanHook): Sql {
		return new Sql(this.strings, this.values, [...this.onRun, hook]);
	}

	/** Calls the hooks of this statement and of every fragment in it: it ran on `db`. */
	ran(db: Knex | Knex.Transaction): void {
		for (const hook of this.onRun) hook(db);
		for (const value of this.values) if (value instanceof Sql) value.ran(db);
	}

	/** The text with `?` placeholders and the values in their order, for `knex.raw` or `prepared`. */
	render(): { sql: string; bindings: SqlValue[] } {
		const out = { sql: "", bindings: [] as SqlValue[] };
		this.renderInto(out);
		return out;
	}

	private renderInto(out: { sql: string; bindings: SqlValue[] }): void {
		this.strings.forEach((text, i) => {
			// knex would take a literal ? (or ??) in the text for a placeholder and shift every value after it.
			if (text.includes("?")) throw new Error(`SQL text must not contain "?": ${text}`);
			out.sql += text;
			if (i === this.values.length) return;
			const value = this.values[i];
			if (value instanceof Sql) value.renderInto(out);
			else {
				out.sql += "?";
				out.bindings.push(value);
			}
		});
	}
}

export const sql = (strings: TemplateStringsArray, ...values: (SqlValue | Sql)[]): Sql =>
	new Sql(strings, values);

/** Text from the code (a table name), spliced as it is: never a value that came in from outside. */
export const trustedSql = (text: string): Sql => new Sql([text], []);

/** Runs a statement through knex (unprepared): for statements off the hot path. */
export async function runSql<Row = Record<string, unknown>>(
	db: Knex | Knex.Transaction,
	statement: Sql,
): Promise<Row[]> {
	const { sql: text, bindings } = statement.render();
	// knex's binding types leave out arrays holding nulls, which pg sends as they are.
	const result = await db.raw(text, bindings as Knex.RawBinding[]);
	statement.ran(db);
	return result.rows;
}
