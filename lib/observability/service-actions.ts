import type { Context, Service, ServiceSchema } from "moleculer";
import { messagingProbes } from "../messaging/readiness";
import { nodeHealth, postgresProbe, redisProbe } from "./health";
import type { MetricSnapshot } from "./metrics";
import { serviceMetrics, ServiceMetricsSource } from "./node-metrics";

/**
 * The `health` and `metrics` actions of a service node, called by the gateway for
 * GET /health/ready and GET /metrics on every node (by nodeID). `source` is read at call
 * time: the service creates its database and messaging in `created`.
 */
export function observabilityActions(
	source: (broker: Service["broker"]) => ServiceMetricsSource,
	healthTimeoutMs: number,
	consumerStallMs: number,
): NonNullable<ServiceSchema["actions"]> {
	return {
		health: {
			visibility: "public",
			tracing: false,
			handler(this: Service) {
				const { service, db, messaging } = source(this.broker);
				return nodeHealth(
					this.broker,
					service,
					{
						postgres: postgresProbe(db),
						redis: redisProbe(this.broker),
						// rabbitmq, and consumer:<queue> for each of its consumers
						...messagingProbes(messaging, consumerStallMs),
					},
					healthTimeoutMs,
				);
			},
		},
		metrics: {
			visibility: "public",
			tracing: false,
			params: { shared: { type: "boolean", optional: true } },
			handler(this: Service, ctx: Context<{ shared?: boolean }>): Promise<MetricSnapshot[]> {
				return serviceMetrics(this.broker, source(this.broker), ctx.params.shared === true);
			},
		},
	};
}
