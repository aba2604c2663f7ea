import type { Context, Service } from "moleculer";
import { cachedPage, DEFAULT_PAGE_SIZE, UserCache } from "../../lib/cache";
import type { Config } from "../../lib/config";
import { ordersParams } from "../../lib/action-params";
import {
	decodePaymentResult,
	isUuid,
	OrderUpdated,
	PaymentResult,
	RefundResult,
} from "../../lib/contracts";
import { createKnex } from "../../lib/db/knex";
import { retentionSweeper } from "../../lib/db/retention.sweeper";
import type { Sweeper } from "../../lib/db/sweeper";
import { ReadSideMixin, ReadSideSchema } from "../../lib/db/read-side.mixin";
import { OrderNotFoundError } from "../../lib/errors";
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

/** The summary is kept beside the orders and the first list page, under the user's generation. */
const SUMMARY_ENTRY = "summary";

/**
 * Orders: takes orders, hands them to payments through the outbox, and applies the payment
 * results. Any number of instances may run (two by default): calls are balanced between
 * them, relays and consumers share the work.
 */
export function ordersService(config: Config): ReadSideSchema {
	// The pool opens no connection before the first query (after the service started).
	const db = createKnex({
		url: config.ordersDatabaseUrl,
		poolMax: config.dbPoolMax,
		applicationName: "gozon-orders",
	});
	const orders = orderReader(db);
	let intake: OrderIntake;
	let messaging: MessagingRuntime;
	let statusEvents: OrderStatusPublisher;
	let reads: UserCache;
	let sweepers: Sweeper<unknown>[];
	const stats = { duplicatesSkipped: 0, swept: 0 };

	/** After a commit that changed these orders: cached reads go first, then the push. */
	async function announce(changed: OrderUpdated[]) {
		if (!changed.length) return;
		// Invalidate first: a client that re-reads on the push must not get the cached read.
		await reads.bump(changed.map(e => e.userId));
		await statusEvents.publish(changed);
	}

	async function onPaymentResults(
		this: Service,
		batch: IncomingMessage<PaymentResult | RefundResult>[],
	) {
		const { changed, duplicates, refundsRefused } = await applyPaymentResults(db, batch);
		stats.duplicatesSkipped += duplicates;
		// Payments never debited such an order (a forged or broken request): nothing to undo here,
		// and the order keeps its status. Legitimately this cannot happen (only a paid order
		// becomes FINISHED, and only a FINISHED one is refunded), so it is worth a warning.
		for (const r of refundsRefused)
			this.logger.warn(
				"Refund refused by payments: it holds no such debit; the order is left as it is",
				{
					orderId: r.orderId,
					userId: r.userId,
					reason: r.reason,
				},
			);
		await announce(changed);
	}

	return {
		name: "orders",
		mixins: [ReadSideMixin],
		adapter: orders,

		actions: {
			create: {
				params: ordersParams.create,
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
				params: ordersParams.refund,
				async handler(this: Service, ctx: Context<{ id: string }, RequestMeta>) {
					const userId = requireUserId(ctx);
					const { order, changed } = await refundOrder(db, {
						userId,
						orderId: ctx.params.id,
						idempotencyKey: ctx.meta.idempotencyKey,
					});
					messaging.relay.wake();
					if (changed) await announce([changed]);
					return order;
				},
			},

			summary: {
				retryPolicy: { enabled: true },
				// Cached under the user's generation, like the first list page: every change moves both.
				async handler(ctx: Context<unknown, RequestMeta>) {
					const userId = requireUserId(ctx);
					return reads.read(userId, SUMMARY_ENTRY, () => orderSummary(db, userId));
				},
			},

			list: {
				params: ordersParams.list,
				retryPolicy: { enabled: true },
				// Its first page is cached under the user's generation (see UserCache and cachedPage).
				async handler(ctx: Context<ListParams, RequestMeta>) {
					const userId = requireUserId(ctx);
					const { limit = DEFAULT_PAGE_SIZE, before } = ctx.params;
					return reads.read(userId, cachedPage("list", limit, before), () =>
						listOrders(orders, userId, { limit, before }),
					);
				},
			},

			get: {
				params: ordersParams.get,
				retryPolicy: { enabled: true },
				// Cached under the user's generation (UserCache); a malformed id is never a key.
				async handler(ctx: Context<{ id: string }, RequestMeta>) {
					const userId = requireUserId(ctx);
					const id = ctx.params.id;
					// Another user's order is "not found" too: ids are not secrets, but orders are.
					if (!isUuid(id)) throw new OrderNotFoundError(id);
					return reads.read(userId, `get:${id}`, () => getOrder(orders, userId, id));
				},
			},

			stats: {
				visibility: "public",
				async handler() {
					return {
						...(await messaging.stats()),
						duplicatesSkipped: stats.duplicatesSkipped,
						swept: stats.swept,
					};
				},
			},

			// health and metrics, for the gateway's /health/ready and /metrics
			...observabilityActions(
				broker => ({
					service: "orders",
					db,
					messaging,
					queues: [Queues.ordersToPay, Queues.paymentResults, Queues.ordersToRefund],
					duplicatesSkipped: stats.duplicatesSkipped,
					node: [sweptOrders(broker, stats.swept)],
					shared: [
						() => ordersByStatus(broker, db),
						() => stuckOrders(broker, db, config.orderStuckAfterS),
					],
				}),
				config.healthTimeoutMs,
				config.consumerStallMs,
			),
		},

		created(this: Service) {
			intake = new OrderIntake(db, async placed => {
				messaging.relay.wake();
				await reads.bump(placed.map(o => o.userId));
			});
			reads = new UserCache(this.broker, "orders", 60);
			statusEvents = new OrderStatusPublisher(
				config.redisUrl,
				config.redisPrefix,
				this.logger,
				config.redisCommandTimeoutMs,
			);
			messaging = new MessagingRuntime(
				db,
				messagingOptions(config, [
					Queues.ordersToPay,
					Queues.paymentResults,
					Queues.ordersToRefund,
				]),
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
				logFields: r => ({
					orderId: r.orderId,
					userId: r.userId,
					result: r.status,
					reason: r.reason,
				}),
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
