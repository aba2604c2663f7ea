import type { Knex } from "knex";

type Where = Record<string, unknown>;

export interface FindParams {
	query?: Where;
	/** Column names; a leading "-" sorts descending. */
	sort?: string;
	limit?: number;
}

/** A table and the one mapping of its rows to what the API returns (writes map their rows with it too). */
export interface EntityTable<Row, Entity> {
	table: string;
	toEntity(row: Row): Entity;
}

const OPERATORS: Record<string, string> = { $lt: "<", $lte: "<=", $gt: ">", $gte: ">=", $ne: "<>" };

/**
 * moleculer-db's adapter for one table on Knex (moleculer-db ships none for Knex),
 * read-only: every write needs a transaction with outbox or ledger rows, which the use cases
 * run on Knex directly. It is given the service's own pool, so reads share it with the writes.
 * Queries take column equality or {$lt,$lte,$gt,$gte,$ne}; `entityToObject` is the table's
 * mapping.
 */
export class KnexAdapter<Row extends object, Entity extends object> {
	constructor(
		private readonly knex: Knex,
		private readonly entity: EntityTable<Row, Entity>,
	) {}

	/** moleculer-db passes the broker and the service here; the pool came with the constructor. */
	init(): void {}

	/** moleculer-db's `started` retries this every second until the database answers. */
	async connect(): Promise<void> {
		await this.knex.raw("SELECT 1");
	}

	async disconnect(): Promise<void> {
		// The service owns the pool and destroys it when it stops.
	}

	private select(query: Where = {}, columns: string[] = ["*"]): Knex.QueryBuilder {
		const qb = this.knex(this.entity.table).select(columns);
		for (const [column, cond] of Object.entries(query)) {
			if (cond && typeof cond === "object" && !Array.isArray(cond) && !(cond instanceof Date)) {
				for (const [op, value] of Object.entries(cond as Record<string, unknown>)) {
					const sqlOp = OPERATORS[op];
					if (!sqlOp) throw new Error(`Unsupported query operator ${op}`);
					qb.where(column, sqlOp, value as Knex.Value);
				}
			} else if (Array.isArray(cond)) qb.whereIn(column, cond as Knex.Value[]);
			else qb.where(column, cond as Knex.Value);
		}
		return qb;
	}

	find(params: FindParams = {}): Promise<Row[]> {
		const qb = this.select(params.query);
		for (const s of (params.sort ?? "").split(/[\s,]+/).filter(Boolean))
			qb.orderBy(s.replace(/^-/, ""), s.startsWith("-") ? "desc" : "asc");
		if (params.limit) qb.limit(params.limit);
		return qb;
	}

	/** The first row that matches; with `columns`, only those (a cursor check can then read the index alone). */
	findOne<K extends keyof Row & string = keyof Row & string>(
		query: Where,
		columns?: K[],
	): Promise<Pick<Row, K> | undefined> {
		return this.select(query, columns).first();
	}

	entityToObject(row: Row): Entity {
		return this.entity.toEntity(row);
	}
}
