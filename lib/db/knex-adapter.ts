import type { Knex } from "knex";
import type { ServiceBroker, Service } from "moleculer";

type Where = Record<string, unknown>;

export interface FindParams {
	query?: Where;
	/** Column names; a leading "-" sorts descending. */
	sort?: string | string[];
	limit?: number;
	offset?: number;
}

const OPERATORS: Record<string, string> = { $lt: "<", $lte: "<=", $gt: ">", $gte: ">=", $ne: "<>" };

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * A small moleculer-db adapter on Knex (the registry has none for moleculer-db 0.8). It reads
 * the table of the service's own Knex instance (`service.db`), so reads share the pool with
 * the transactional writes. Queries take column equality or {$lt,$lte,$gt,$gte,$ne}.
 * Entities come out camelCased, with dates as ISO strings and null columns left out.
 */
export class KnexAdapter {
	private service!: Service & { db: Knex };

	constructor(
		private readonly table: string,
		private readonly idColumn = "id",
	) {}

	init(_broker: ServiceBroker, service: Service): void {
		this.service = service as Service & { db: Knex };
	}

	private get knex(): Knex {
		return this.service.db;
	}

	async connect(): Promise<void> {
		await this.knex.raw("SELECT 1");
	}

	async disconnect(): Promise<void> {
		// The service owns the pool and destroys it when it stops.
	}

	private applyQuery(qb: Knex.QueryBuilder, query: Where = {}): Knex.QueryBuilder {
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

	find(params: FindParams = {}): Promise<Record<string, unknown>[]> {
		const qb = this.applyQuery(this.knex(this.table).select("*"), params.query);
		const sort = typeof params.sort === "string" ? params.sort.split(/[\s,]+/) : (params.sort ?? []);
		for (const s of sort.filter(Boolean))
			qb.orderBy(s.replace(/^-/, ""), s.startsWith("-") ? "desc" : "asc");
		if (params.limit) qb.limit(params.limit);
		if (params.offset) qb.offset(params.offset);
		return qb;
	}

	async findOne(query: Where): Promise<Record<string, unknown> | undefined> {
		return this.applyQuery(this.knex(this.table).select("*"), query).first();
	}

	findById(id: unknown) {
		return this.findOne({ [this.idColumn]: id });
	}

	findByIds(ids: unknown[]) {
		return this.knex(this.table).whereIn(this.idColumn, ids as Knex.Value[]).select("*");
	}

	async count(params: FindParams = {}): Promise<number> {
		const row = await this.applyQuery(this.knex(this.table), params.query).count({ n: "*" }).first();
		return Number(row?.n ?? 0);
	}

	async insert(entity: Record<string, unknown>) {
		const [row] = await this.knex(this.table).insert(entity).returning("*");
		return row;
	}

	insertMany(entities: Record<string, unknown>[]) {
		return this.knex(this.table).insert(entities).returning("*");
	}

	updateMany(query: Where, update: Record<string, unknown>) {
		return this.applyQuery(this.knex(this.table), query).update(update);
	}

	async updateById(id: unknown, update: { $set?: Record<string, unknown> }) {
		const [row] = await this.knex(this.table)
			.where(this.idColumn, id as Knex.Value)
			.update(update.$set ?? update)
			.returning("*");
		return row;
	}

	removeMany(query: Where) {
		return this.applyQuery(this.knex(this.table), query).delete();
	}

	async removeById(id: unknown) {
		const [row] = await this.knex(this.table).where(this.idColumn, id as Knex.Value).delete().returning("*");
		return row;
	}

	clear() {
		return this.knex(this.table).delete();
	}

	entityToObject(entity: Record<string, unknown>): Record<string, unknown> {
		const out: Record<string, unknown> = {};
		for (const [key, value] of Object.entries(entity)) {
			if (value === null || value === undefined) continue;
			out[camel(key)] = value instanceof Date ? value.toISOString() : value;
		}
		return out;
	}

	beforeSaveTransformID(entity: Record<string, unknown>) {
		return entity;
	}

	afterRetrieveTransformID(entity: Record<string, unknown>) {
		return entity;
	}
}
