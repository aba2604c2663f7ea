import DbService from "moleculer-db";
import type { ServiceSchema } from "moleculer";

/**
 * moleculer-db's DbService without its generic CRUD actions: the services keep its adapter
 * lifecycle and entity transforms (`this.adapter`, `this.transformDocuments`) for their
 * reads, and define their own user-scoped actions. Writes go through Knex transactions.
 */
export const ReadSideMixin: ServiceSchema = { ...(DbService as unknown as ServiceSchema), actions: {} };
