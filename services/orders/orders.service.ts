import type { Context, Service } from "moleculer";
import type { Config } from "../../lib/config";
import { ordersParams } from "../../lib/action-params";
import {
	decodePaymentResult,
	isUuid,
	OrderUpdated,
	PaymentResult,
	RefundResult,
} from "../../lib/contracts";
import { retentionSweeper } from "../../lib/db/retention.sweeper";
import type { Sweeper } from "../../lib/db/sweeper";
import { ReadSideMixin, ReadSideSchema } from "../../lib/db/read-side.mixin";
import { OrderNotFoundError } from "../../lib/errors";
import { requireUserId, RequestMeta } from "../../lib/identity";
import { HandledBatch, IncomingMessage, Queues } from "../../lib/messaging";
import { ServiceCore } from "../../lib/service-core";
import { applyPaymentResults } from "./apply-payment-results.use-case";
import { OrderIntake } from "./create-order.use-case";
import { getOrder, listOrders, orderReader } from "./order.queries";
import { orderSummary } from "./order-summary.query";
import { refundOrder } from "./refund-order.use-case";
import { OrderStatusPublisher } from "./order-status.publisher";
import { ordersByStatus, stuckOrders, sweptOrders } from "./orders.metrics";
import { stuckOrdersSweeper } from "./stuck-orders.sweeper";

/** The summary is kept beside the orders and the first list page, under the user's generation. */
const SUMMARY_ENTRY = "summary";

/**
 * Orders: takes orders, hands them to payments through the outbox, and applies the payment
 * results. Any number of instances may run (two by default): calls are balanced between
 * them, relays and consumers share the work.
 */
export function ordersService(config: Config): ReadSideSchema {
	const core = new ServiceCore(config, "orders", config.ordersDatabaseUrl);
	const db = core.db;
	const orders = orderReader(db);
	let intake: OrderIntake;
	let statusEvents: OrderStatusPublisher;
	let sweepers: Sweeper<unknown>[];
	const stats = { swept: 0 };

	/** After a commit that changed these orders: cached reads go first, then the push. */
	async function announce(changed: OrderUpdated[]) {
		if (!changed.length) return;
		// Invalidate first: a client that re-reads on the push must not get the cached read.
		await core.forget(changed.map(e => e.userId));
		await statusEvents.publish(changed);
	}

	async function onPaymentResults(
		this: Service,
		batch: IncomingMessage<PaymentResult | RefundResult>[],
	): Promise<HandledBatch> {
		const { changed, duplicates, refundsRefused } = await applyPaymentResults(db, batch);
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
		return { duplicates };
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
					const { order, changed } = await core.messaging.write(() =>
						refundOrder(db, {
							userId,
							orderId: ctx.params.id,
							idempotencyKey: ctx.meta.idempotencyKey,
						}),
					);
					if (changed) await announce([changed]);
					return order;
				},
			},

			summary: {
				retryPolicy: { enabled: true },
				// Cached under the user's generation, like the first list page: every change moves both.
				async handler(ctx: Context<unknown, RequestMeta>) {
					const userId = requireUserId(ctx);
					return core.read(userId, SUMMARY_ENTRY, () => orderSummary(db, userId));
				},
			},

			list: core.pageAction<string>("list", ordersParams.list, (userId, page) =>
				listOrders(orders, userId, page),
			),

			get: {
				params: ordersParams.get,
				retryPolicy: { enabled: true },
				// Cached under the user's generation (UserCache); a malformed id is never a key.
				async handler(ctx: Context<{ id: string }, RequestMeta>) {
					const userId = requireUserId(ctx);
					const id = ctx.params.id;
					// Another user's order is "not found" too: ids are not secrets, but orders are.
					if (!isUuid(id)) throw new OrderNotFoundError(id);
					return core.read(userId, `get:${id}`, () => getOrder(orders, userId, id));
				},
			},

			stats: {
				visibility: "public",
				async handler() {
					return { ...(await core.messaging.stats()), swept: stats.swept };
				},
			},

			// health and metrics, for the gateway's /health/ready and /metrics
			...core.observabilityActions(broker => ({
				node: [sweptOrders(broker, stats.swept)],
				shared: [
					() => ordersByStatus(broker, db),
					() => stuckOrders(broker, db, config.orderStuckAfterS),
				],
			})),
		},

		created(this: Service) {
			core.create(this);
			intake = new OrderIntake(
				db,
				placed => core.forget(placed.map(o => o.userId)),
				core.messaging.write,
			);
			statusEvents = new OrderStatusPublisher(
				config.redisUrl,
				config.redisPrefix,
				this.logger,
				config.redisCommandTimeoutMs,
			);
			sweepers = [
				stuckOrdersSweeper(db, config, this.logger, core.messaging.write, count => {
					stats.swept += count;
				}),
				retentionSweeper(db, config, this.logger),
			];
			core.messaging.consume({
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
			await core.messaging.start();
			for (const s of sweepers) s.start();
		},

		async stopped() {
			await Promise.all(sweepers.map(s => s.stop()));
			await core.stop();
			await statusEvents.close();
		},
	};
}
