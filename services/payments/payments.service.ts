import type { Context, Service } from "moleculer";
import { cachedPage, DEFAULT_PAGE_SIZE, UserCache } from "../../lib/cache";
import type { Config } from "../../lib/config";
import { paymentsParams } from "../../lib/action-params";
import {
	decodeOrderToPay,
	decodeOrderToRefund,
	OrderToPay,
	OrderToRefund,
} from "../../lib/contracts";
import { createKnex } from "../../lib/db/knex";
import { retentionSweeper } from "../../lib/db/retention.sweeper";
import type { Sweeper } from "../../lib/db/sweeper";
import { ReadSideMixin, ReadSideSchema } from "../../lib/db/read-side.mixin";
import { requireUserId, RequestMeta } from "../../lib/identity";
import { IncomingMessage, MessagingRuntime, messagingOptions, Queues } from "../../lib/messaging";
import { snapshot, startTimer } from "../../lib/observability/node-metrics";
import { observabilityActions } from "../../lib/observability/service-actions";
import { accountReader, getAccount, ledgerReader, listTransactions } from "./account.queries";
import { createAccount } from "./create-account.use-case";
import { payOrders } from "./pay-orders.use-case";
import { paymentBatchDuration } from "./payments.metrics";
import { refundOrders } from "./refund-orders.use-case";
import { topUp } from "./top-up.use-case";

interface LedgerPage {
	limit?: number;
	before?: number;
}

/**
 * Payments: accounts, top-ups, the ledger, the debit of every order that arrives on
 * orders.to_pay and the refund of every order that arrives on orders.to_refund (both
 * answered on payment.results through its own outbox).
 */
export function paymentsService(config: Config): ReadSideSchema {
	// The pool opens no connection before the first query (after the service started).
	const db = createKnex({
		url: config.paymentsDatabaseUrl,
		poolMax: config.dbPoolMax,
		applicationName: "gozon-payments",
	});
	const accounts = accountReader(db);
	const ledger = ledgerReader(db);
	let messaging: MessagingRuntime;
	let reads: UserCache;
	let retention: Sweeper<unknown>;
	const stats = { duplicatesSkipped: 0 };
	let batchDuration: ReturnType<typeof paymentBatchDuration>;

	/** After a commit that changed these users' accounts: their cached account and ledger pages go. */
	const forgetUsers = (userIds: number[]) => reads.bump(userIds);

	async function onOrdersToPay(this: Service, batch: IncomingMessage<OrderToPay>[]) {
		const done = startTimer(batchDuration);
		const paid = await payOrders(db, batch);
		done();
		stats.duplicatesSkipped += paid.duplicates;
		for (const r of paid.resent)
			this.logger.info("Order asked again after its decision: the recorded result is sent again", {
				orderId: r.orderId,
				userId: r.userId,
				result: r.status,
			});
		// The bump first: the result the relay publishes leads to a push, and a client that reads its
		// balance on that push must find the cached account out of reach already.
		if (paid.changedUsers.length) await forgetUsers(paid.changedUsers);
		if (paid.results.length) messaging.relay.wake();
	}

	async function onOrdersToRefund(this: Service, batch: IncomingMessage<OrderToRefund>[]) {
		const refunded = await refundOrders(db, batch);
		stats.duplicatesSkipped += refunded.duplicates;
		for (const r of refunded.resent)
			this.logger.info("Refund asked again after it was made: REFUNDED is sent again", {
				orderId: r.orderId,
				userId: r.userId,
			});
		for (const r of refunded.refused)
			this.logger.warn("Refund refused: no debit of this order by this user for this amount", {
				orderId: r.orderId,
				userId: r.userId,
			});
		if (refunded.changedUsers.length) await forgetUsers(refunded.changedUsers);
		if (refunded.credits.length + refunded.resent.length + refunded.refused.length)
			messaging.relay.wake();
	}

	return {
		name: "payments",
		mixins: [ReadSideMixin],
		adapter: accounts,

		actions: {
			createAccount: {
				async handler(this: Service, ctx: Context<unknown, RequestMeta>) {
					const userId = requireUserId(ctx);
					const account = await createAccount(db, userId);
					await forgetUsers([userId]);
					return account;
				},
			},

			getAccount: {
				retryPolicy: { enabled: true },
				// Cached under the user's generation (UserCache), like the first ledger page.
				async handler(ctx: Context<unknown, RequestMeta>) {
					const userId = requireUserId(ctx);
					return reads.read(userId, "account", () => getAccount(accounts, userId));
				},
			},

			topUp: {
				params: paymentsParams.topUp,
				async handler(this: Service, ctx: Context<{ amount: number }, RequestMeta>) {
					const userId = requireUserId(ctx);
					const account = await topUp(db, {
						userId,
						amount: ctx.params.amount,
						idempotencyKey: ctx.meta.idempotencyKey,
						maxBalance: config.maxBalance,
					});
					await forgetUsers([userId]);
					return account;
				},
			},

			listTransactions: {
				params: paymentsParams.listTransactions,
				retryPolicy: { enabled: true },
				// Its first page is cached under the user's generation (see UserCache and cachedPage).
				async handler(ctx: Context<LedgerPage, RequestMeta>) {
					const userId = requireUserId(ctx);
					const { limit = DEFAULT_PAGE_SIZE, before } = ctx.params;
					return reads.read(userId, cachedPage("transactions", limit, before), () =>
						listTransactions(accounts, ledger, userId, { limit, before }),
					);
				},
			},

			stats: {
				async handler() {
					return { ...(await messaging.stats()), duplicatesSkipped: stats.duplicatesSkipped };
				},
			},

			// health and metrics, for the gateway's /health/ready and /metrics
			...observabilityActions(
				() => ({
					service: "payments",
					db,
					messaging,
					queues: [Queues.ordersToPay, Queues.paymentResults, Queues.ordersToRefund],
					duplicatesSkipped: stats.duplicatesSkipped,
					node: [snapshot(batchDuration)],
				}),
				config.healthTimeoutMs,
				config.consumerStallMs,
			),
		},

		created(this: Service) {
			batchDuration = paymentBatchDuration(this.broker);
			reads = new UserCache(this.broker, "payments", 60);
			messaging = new MessagingRuntime(
				db,
				messagingOptions(config, [
					Queues.ordersToPay,
					Queues.paymentResults,
					Queues.ordersToRefund,
				]),
				this.logger,
			);
			retention = retentionSweeper(db, config, this.logger);
			messaging.consume({
				queue: Queues.ordersToPay,
				decode: decodeOrderToPay,
				handle: batch => onOrdersToPay.call(this, batch),
				faultAfterCommit: "payments.after-commit-before-ack",
				logFields: o => ({ orderId: o.orderId, userId: o.userId }),
			});
			messaging.consume({
				queue: Queues.ordersToRefund,
				decode: decodeOrderToRefund,
				handle: batch => onOrdersToRefund.call(this, batch),
				faultAfterCommit: "payments.refund.after-commit-before-ack",
				logFields: o => ({ orderId: o.orderId, userId: o.userId, refund: true }),
			});
		},

		async started() {
			await messaging.start();
			retention.start();
		},

		async stopped() {
			await retention.stop();
			await messaging.stop();
			await db.destroy();
		},
	};
}
