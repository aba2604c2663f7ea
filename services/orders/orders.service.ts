import type { Context, Service } from "moleculer";
import { cachedPage, DEFAULT_PAGE_SIZE, invalidate, UserPageCache, userKeygen } from "../../lib/cache";
import type { Config } from "../../lib/config";
import { decodePaymentResult, MAX_AMOUNT, OrderUpdated, PaymentResult, RefundResult } from "../../lib/contracts";
import { createKnex } from "../../lib/db/knex";
import { retentionSweeper } from "../../lib/db/retention.sweeper";
import type { Sweeper } from "../../lib/db/sweeper";
import { ReadSideMixin, ReadSideSchema } from "../../lib/db/read-side.mixin";
import { requireUserId, RequestMeta } from "../../lib/identity";
import { IncomingMessage, MessagingRuntime, messagingOptions, Queues } from "../../lib/messaging";
import { observabilityActions } from "../../lib/observability/service-actions";
import { applyPaymentResults } from "./apply-payment-results.use-case";
import { OrderIntake } from "./create-order.use-case";
import { getOrder, listOrders, orderReader } from "./order.queries";
import { orderSummary } from "./order-summary.query";
import { refundOrder } from "./refund-order.use-case";
import { OrderStatusPublisher } from "./order-status.publisher";
import { ordersByStatus, stuckOrders, sweptOrders } from "./orders.metrics";
import { stuckOrdersSweeper } from "./stuck-orders.sweeper";

interface ListParams {
	limit?: number;
	before?: string;
}

const getKey = (userId: number, id: string) => `orders.get:${userId}:${id}`;
/** The summary is kept beside the first list page, under the same per-user generation. */
const SUMMARY_PAGE = "summary";

export const orderParams = {
	amount: { type: "number", integer: true, min: 1, max: MAX_AMOUNT, convert: false },
	// PostgreSQL text cannot hold NUL: refuse it here rather than fail the INSERT with a 500.
	description: {
		type: "string",
		trim: true,
		min: 1,
		max: 500,
		pattern: /^[^\u0000]*$/,
		messages: { stringPattern: "The 'description' field must not contain NUL characters." },
	},
};

export const pageParams = {
	limit: { type: "number", integer: true, min: 1, max: 1000, convert: true, optional: true },
};

/**
 * Orders: takes orders, hands them to payments through the outbox, and applies the payment
 * results. Any number of instances may run (two by default): calls are balanced between
 * them, relays and consumers share the work.
 */
export function ordersService(config: Config): ReadSideSchema {
	// The pool opens no connection before the first query (after the service started).
	const db = createKnex({ url: config.ordersDatabaseUrl, poolMax: config.dbPoolMax, applicationName: "gozon-orders" });
	const orders = orderReader(db);
	let intake: OrderIntake;
	let messaging: MessagingRuntime;
	let statusEvents: OrderStatusPublisher;
	let pages: UserPageCache;
	let sweepers: Sweeper<unknown>[];
	const stats = { duplicatesSkipped: 0, swept: 0 };

	/** After a commit that changed these orders: cached reads go first, then the push. */
	async function announce(broker: Service["broker"], changed: OrderUpdated[]) {
		if (!changed.length) return;
		// Invalidate first: a client that re-reads on the push must not get the cached page.
		await Promise.all([
			invalidate(broker, changed.map(e => getKey(e.userId, e.orderId))),
			pages.bump(changed.map(e => e.userId)),
		]);
		await statusEvents.publish(changed);
	}

	async function onPaymentResults(this: Service, batch: IncomingMessage<PaymentResult | RefundResult>[]) {
		const { changed, duplicates, refundsRefused } = await applyPaymentResults(db, batch);
		stats.duplicatesSkipped += duplicates;
		// Payments never debited such an order (a forged or broken request): nothing to undo here,
		// and the order keeps its status. Legitimately this cannot happen (only a paid order
		// becomes FINISHED, and only a FINISHED one is refunded), so it is worth a warning.
		for (const r of refundsRefused)
			this.logger.warn("Refund refused by payments: it holds no such debit; the order is left as it is", {
				orderId: r.orderId,
				userId: r.userId,
				reason: r.reason,
			});
		await announce(this.broker, changed);
	}

	return {
		name: "orders",
		mixins: [ReadSideMixin],
		adapter: orders,

		actions: {
			create: {
				params: orderParams,
				async handler(ctx: Context<{ amount: number; description: string }, RequestMeta>) {
					const userId = requireUserId(ctx);
					return intake.place({
						userId,
						amount: ctx.params.amount,
						description: ctx.params.description,
						idempotencyKey: ctx.meta.idempotencyKey,
					});
				},
			},

			refund: {
				// Any id that is not one of the caller's orders is 404, however malformed or long.
				params: { id: { type: "string", min: 1 } },
				async handler(this: Service, ctx: Context<{ id: string }, RequestMeta>) {
					const userId = requireUserId(ctx);
					const { order, changed } = await refundOrder(db, {
						userId,
						orderId: ctx.params.id,
						idempotencyKey: ctx.meta.idempotencyKey,
					});
					messaging.relay.wake();
					if (changed) await announce(this.broker, [changed]);
					return order;
				},
			},

			summary: {
				retryPolicy: { enabled: true },
				// Cached per user and generation, like the first list page: every change bumps both.
				async handler(ctx: Context<unknown, RequestMeta>) {
					const userId = requireUserId(ctx);
					return pages.read(userId, SUMMARY_PAGE, () => orderSummary(db, userId));
				},
			},

			list: {
				params: { ...pageParams, before: { type: "uuid", optional: true } },
				retryPolicy: { enabled: true },
				// Its first page is cached per user and generation (see UserPageCache and cachedPage).
				async handler(ctx: Context<ListParams, RequestMeta>) {
					const userId = requireUserId(ctx);
					const { limit = DEFAULT_PAGE_SIZE, before } = ctx.params;
					return pages.read(userId, cachedPage(limit, before), () => listOrders(orders, userId, { limit, before }));
				},
			},

			get: {
				// Any id that is not one of the caller's orders is 404, however malformed or long.
				params: { id: { type: "string", min: 1 } },
				retryPolicy: { enabled: true },
				cache: {
					keygen: userKeygen<{ id: string }>((u, p) => getKey(u, p.id)),
				},
				async handler(ctx: Context<{ id: string }, RequestMeta>) {
					const userId = requireUserId(ctx);
					return getOrder(orders, userId, ctx.params.id);
				},
			},

			stats: {
				visibility: "public",
				async handler() {
					return { ...(await messaging.stats()), duplicatesSkipped: stats.duplicatesSkipped, swept: stats.swept };
				},
			},

			// health and metrics, for the gateway's /health/ready and /metrics
			...observabilityActions(
				() => ({
					service: "orders",
					db,
					messaging,
					queues: [Queues.ordersToPay, Queues.paymentResults, Queues.ordersToRefund],
					duplicatesSkipped: stats.duplicatesSkipped,
					node: [sweptOrders(stats.swept)],
					shared: [() => ordersByStatus(db), () => stuckOrders(db, config.orderStuckAfterS)],
				}),
				config.healthTimeoutMs,
				config.consumerStallMs,
			),
		},

		created(this: Service) {
			intake = new OrderIntake(db, async placed => {
				messaging.relay.wake();
				await pages.bump(placed.map(o => o.userId));
			});
			pages = new UserPageCache(this.broker, "orders.list", 60);
			statusEvents = new OrderStatusPublisher(
				config.redisUrl,
				config.redisPrefix,
				this.logger,
				config.redisCommandTimeoutMs,
			);
			messaging = new MessagingRuntime(
				db,
				messagingOptions(config, [Queues.ordersToPay, Queues.paymentResults, Queues.ordersToRefund]),
				this.logger,
			);
			sweepers = [
				stuckOrdersSweeper(db, config, this.logger, count => {
					stats.swept += count;
					messaging.relay.wake();
				}),
				retentionSweeper(db, config, this.logger),
			];
			messaging.consume({
				queue: Queues.paymentResults,
				decode: decodePaymentResult,
				handle: batch => onPaymentResults.call(this, batch),
				faultAfterCommit: "orders.after-commit-before-ack",
				logFields: r => ({ orderId: r.orderId, userId: r.userId, result: r.status, reason: r.reason }),
			});
		},

		async started() {
			await statusEvents.connect();
			await messaging.start();
			for (const s of sweepers) s.start();
		},

		async stopped() {
			await Promise.all(sweepers.map(s => s.stop()));
			await messaging.stop();
			await statusEvents.close();
			await db.destroy();
		},
	};
}
