import type { Knex } from "knex";
import type { ActionParams, ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import { cachedPage, DEFAULT_PAGE_SIZE, UserCache } from "./cache";
import type { Config } from "./config";
import { createKnex } from "./db/knex";
import { requireUserId, RequestMeta } from "./identity";
import { MessagingRuntime, messagingOptions, Queues } from "./messaging";
import type { ServiceMetricsSource } from "./observability/node-metrics";
import { observabilityActions } from "./observability/service-actions";

/** The business queues: orders and payments each publish to or consume from all three. */
const QUEUES = [Queues.ordersToPay, Queues.paymentResults, Queues.ordersToRefund];

/** A service's own figures for /metrics, beside those every service reports. */
export type ExtraMetrics = Pick<ServiceMetricsSource, "node" | "shared">;

/**
 * What orders and payments each run beside their actions: their own database, their messaging
 * (outbox relay and queue consumers) and their users' cached reads; with one home for what
 * follows a commit (`forget`; the relay is woken by `messaging.write`) and for the health and
 * metrics actions.
 */
export class ServiceCore {
	readonly db: Knex;
	messaging!: MessagingRuntime;
	private reads!: UserCache;

	constructor(
		private readonly config: Config,
		readonly name: "orders" | "payments",
		databaseUrl: string,
	) {
		// The pool opens no connection before the first query (after the service started).
		this.db = createKnex({
			url: databaseUrl,
			poolMax: config.dbPoolMax,
			applicationName: `gozon-${name}`,
		});
	}

	/** In the service's `created`: its cached reads and messaging, on its broker and logger. */
	create(service: Service): void {
		this.reads = new UserCache(service.broker, this.name, 60);
		this.messaging = new MessagingRuntime(
			this.db,
			messagingOptions(this.config, QUEUES),
			service.logger,
		);
	}

	/** A user's cached read (UserCache.read), loaded and stored when it is not cached. */
	read<T>(userId: number, entry: string | undefined, load: () => Promise<T>): Promise<T> {
		return this.reads.read(userId, entry, load);
	}

	/**
	 * The action that reads a page of the caller's list `name`: `limit` long (the default when
	 * absent), before the cursor `before`. Only its first page at the default size is cached,
	 * under the user's generation (see UserCache and cachedPage).
	 */
	pageAction<C>(
		name: string,
		params: ActionParams,
		load: (userId: number, page: { limit: number; before?: C }) => Promise<unknown>,
	): ActionSchema {
		return {
			params,
			retryPolicy: { enabled: true },
			handler: (ctx: Context<{ limit?: number; before?: C }, RequestMeta>) => {
				const userId = requireUserId(ctx);
				const { limit = DEFAULT_PAGE_SIZE, before } = ctx.params;
				return this.read(userId, cachedPage(name, limit, before), () =>
					load(userId, { limit, before }),
				);
			},
		};
	}

	/**
	 * After a commit that changed these users' data: every cached read of theirs goes out of
	 * reach (one generation bump each). It waits at most the cache's budget and never rejects:
	 * Redis never makes a write fail, nor wait longer than that.
	 */
	readonly forget = (userIds: number[]): Promise<void> => this.reads.bump(userIds);

	/** The `health` and `metrics` actions, with the service's own figures beside the common ones. */
	observabilityActions(
		extra: (broker: Service["broker"]) => ExtraMetrics = () => ({}),
	): NonNullable<ServiceSchema["actions"]> {
		return observabilityActions(
			broker => ({
				service: this.name,
				db: this.db,
				messaging: this.messaging,
				queues: QUEUES,
				...extra(broker),
			}),
			this.config.healthTimeoutMs,
			this.config.consumerStallMs,
		);
	}

	/** Stops the relay and consumers (batches under way finish and are acknowledged), then the pool. */
	async stop(): Promise<void> {
		await this.messaging.stop();
		await this.db.destroy();
	}
}
