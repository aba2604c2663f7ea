import knexFactory, { Knex } from "knex";
import { types } from "pg";

// bigint columns (ids, amounts, balances) arrive as strings by default. Every amount and
// balance is capped far below 2^53 (see MAX_BALANCE), so a JS number holds them exactly.
types.setTypeParser(types.builtins.INT8, value => Number(value));

export interface DbOptions {
	url: string;
	poolMax: number;
	applicationName: string;
}

export function createKnex({ url, poolMax, applicationName }: DbOptions): Knex {
	return knexFactory({
		client: "pg",
		connection: { connectionString: url, application_name: applicationName },
		pool: { min: 0, max: poolMax },
		acquireConnectionTimeout: 10000,
	});
}
