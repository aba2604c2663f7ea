import type { Context, Service } from "moleculer";
import type { Config } from "../../lib/config";
import { paymentsParams } from "../../lib/action-params";
import {
	decodeOrderToPay,
	decodeOrderToRefund,
	OrderToPay,
	OrderToRefund,
} from "../../lib/contracts";
import { retentionSweeper } from "../../lib/db/retention.sweeper";
import type { Sweeper } from "../../lib/db/sweeper";
import { ReadSideMixin, ReadSideSchema } from "../../lib/db/read-side.mixin";
import { requireUserId, RequestMeta } from "../../lib/identity";
import { HandledBatch, IncomingMessage, Queues } from "../../lib/messaging";
import { snapshot, startTimer } from "../../lib/observability/node-metrics";
import { ServiceCore } from "../../lib/service-core";
import { accountReader, getAccount, ledgerReader, listTransactions } from "./account.queries";
import { createAccount } from "./create-account.use-case";
import { payOrders } from "./pay-orders.use-case";
import { paymentBatchDuration } from "./payments.metrics";
import { refundOrders } from "./refund-orders.use-case";
import { topUp } from "./top-up.use-case";

/**
 * Payments: accounts, top-ups, the ledger, the debit of every order that arrives on
 * orders.to_pay and the refund of every order that arrives on orders.to_refund (both
 * answered on payment.results through its own outbox).
 */
export function paymentsService(config: Config): ReadSideSchema {
	const core = new ServiceCore(config, "payments", config.paymentsDatabaseUrl);
	const db = core.db;
	const accounts = accountReader(db);
	const ledger = ledgerReader(db);
	let retention: Sweeper<unknown>;
	let batchDuration: ReturnType<typeof paymentBatchDuration>;

	// Each handler forgets the cached reads of the accounts it changed before it returns: the relay,
	// woken once it has returned (MessagingRuntime.write), publishes the results that lead to a push,
	// and a client that reads its balance on that push must find the cached account out of reach.
	async function onOrdersToPay(
		this: Service,
		batch: IncomingMessage<OrderToPay>[],
	): Promise<HandledBatch> {
		const done = startTimer(batchDuration);
		const paid = await payOrders(db, batch);
		done();
		for (const r of paid.resent)
			this.logger.info("Order asked again after its decision: the recorded result is sent again", {
				orderId: r.orderId,
				userId: r.userId,
				result: r.status,
			});
		await core.forget(paid.changedUsers);
		return { duplicates: paid.duplicates };
	}

	async function onOrdersToRefund(
		this: Service,
		batch: IncomingMessage<OrderToRefund>[],
	): Promise<HandledBatch> {
		const refunded = await refundOrders(db, batch);
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
		await core.forget(refunded.changedUsers);
		return { duplicates: refunded.duplicates };
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
					await core.forget([userId]);
					return account;
				},
			},

			getAccount: {
				retryPolicy: { enabled: true },
				// Cached under the user's generation (UserCache), like the first ledger page.
				async handler(ctx: Context<unknown, RequestMeta>) {
					const userId = requireUserId(ctx);
					return core.read(userId, "account", () => getAccount(accounts, userId));
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
					await core.forget([userId]);
					return account;
				},
			},

			listTransactions: core.pageAction<number>(
				"transactions",
				paymentsParams.listTransactions,
				(userId, page) => listTransactions(accounts, ledger, userId, page),
			),

			stats: {
				async handler() {
					return core.messaging.stats();
				},
			},

			// health and metrics, for the gateway's /health/ready and /metrics
			...core.observabilityActions(() => ({ node: [snapshot(batchDuration)] })),
		},

		created(this: Service) {
			batchDuration = paymentBatchDuration(this.broker);
			core.create(this);
			retention = retentionSweeper(db, config, this.logger);
			core.messaging.consume({
				queue: Queues.ordersToPay,
				decode: decodeOrderToPay,
				handle: batch => onOrdersToPay.call(this, batch),
				faultAfterCommit: "payments.after-commit-before-ack",
				logFields: o => ({ orderId: o.orderId, userId: o.userId }),
			});
			core.messaging.consume({
				queue: Queues.ordersToRefund,
				decode: decodeOrderToRefund,
				handle: batch => onOrdersToRefund.call(this, batch),
				faultAfterCommit: "payments.refund.after-commit-before-ack",
				logFields: o => ({ orderId: o.orderId, userId: o.userId, refund: true }),
			});
		},

		async started() {
			await core.messaging.start();
			retention.start();
		},

		async stopped() {
			await retention.stop();
			await core.stop();
		},
	};
}
