import DbService, { type DbServiceSettings } from "moleculer-db";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { KnexAdapter } from "./knex-adapter";

/**
 * moleculer-db's DbService without its generic CRUD actions: the services keep its adapter
 * lifecycle and entity transforms (`this.adapter`, `this.transformDocuments`) for their
 * reads, and define their own user-scoped actions. Writes go through Knex transactions.
 */
export const ReadSideMixin: ServiceSchema = { ...(DbService as unknown as ServiceSchema), actions: {} };

/** `this` in a read action of a service that uses the mixin. */
export type ReadSide = Service & {
	adapter: KnexAdapter;
	transformDocuments(ctx: Context, params: object, docs: unknown): Promise<any>;
};

/** A service on the mixin: moleculer-db's adapter and settings beside Moleculer's own schema. */
export type ReadSideSchema = ServiceSchema<ServiceSettingSchema & DbServiceSettings, Record<string, any>, Record<string, any>, ReadSide> & {
	adapter: KnexAdapter;
};
