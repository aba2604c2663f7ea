import DbService, { type DbServiceSettings } from "moleculer-db";
import type { ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { KnexAdapter } from "./knex-adapter";

/**
 * moleculer-db's DbService without its generic CRUD actions: every read is scoped to the
 * caller, so the services define their own actions, which call read queries on the adapter
 * (`*.queries.ts`). The mixin keeps the adapter's lifecycle: the service starts once its
 * database answers. moleculer-db's typings declare the mixin a class; it is a schema.
 */
export const ReadSideMixin: ServiceSchema = {
	...(DbService as unknown as ServiceSchema),
	actions: {},
};

/** A service on the mixin: moleculer-db's adapter and settings beside Moleculer's own schema. */
export type ReadSideSchema = ServiceSchema<ServiceSettingSchema & DbServiceSettings> & {
	adapter: KnexAdapter<object, object>;
};
