import type { ServiceBroker } from "moleculer";
import { histogram } from "../../lib/observability/node-metrics";

/**
 * Duration of the payments transaction that handles one batch from orders.to_pay (inbox,
 * account locks, debits and ledger, results into the outbox), committed batches only. The
 * bounds span a quiet single-order batch (~2 ms) to a batch stuck behind hot-row locks.
 */
export const paymentBatchDuration = (broker: ServiceBroker) =>
	histogram(broker, {
		name: "gozon_payments_batch_duration_seconds",
		description:
			"Duration of the payments transaction that debits one batch of orders from orders.to_pay (committed batches).",
		buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
	});
