/**
 * Moleculer broker options for every Gozon node (gateway, orders, payments, REPL).
 *
 * Everything comes from lib/config.ts, so it is overridable by environment:
 * MOLECULER_NAMESPACE, TRANSPORTER (defaults to AMQP_URL), REDIS_URL / REDIS_PREFIX for the
 * cacher, LOG_LEVEL and LOG_FORMAT, METRICS and TRACING. Importing this file runs nothing: every
 * node, script and test builds its options with `brokerOptions(config, role)`.
 */
import { hostname } from "os";
import type { BrokerOptions, LogLevels } from "moleculer";
import { RpcTransporter } from "./lib/amqp-transporter";
import { amqpClusterSize, Config, splitUrls } from "./lib/config";
import { eventLoopMetrics } from "./lib/observability/event-loop";
import { jsonLogFormatter } from "./lib/observability/logging";
import { tracingOptions } from "./lib/observability/tracing";
import { EpochRedisCacher } from "./lib/redis/epoch-cacher";
import { cacheRedisOptions } from "./lib/redis/options";

export function brokerOptions(config: Config, role: string): BrokerOptions {
	const transporter: BrokerOptions["transporter"] = config.transporterUrl.startsWith("amqp")
		? new RpcTransporter({
				// Moleculer connects to the first and, after a lost connection, to the next, round robin.
				url: splitUrls(config.transporterUrl),
				// Without noDelay every request/response waits ~40 ms for a delayed ACK, and the
				// default prefetch of 1 serialises a node's requests (docs/benchmark.md, "RPC alone"; `npm run bench:rpc` checks it).
				socketOptions: { noDelay: true },
				prefetch: 128,
				// Queues of nodes that died (kill -9) disappear instead of piling up.
				autoDeleteQueues: 60_000,
				// On a cluster: transient, so that a queue whose node died can be declared again on
				// another (lib/amqp-transporter.ts). A single broker keeps the durable queues it has,
				// as a declaration that differs from an existing queue is refused.
				queueOptions: rpcOnCluster(config) ? { durable: false } : {},
				holdRequestsMs: config.rpcHoldMs,
			})
		: // Any other transporter by its connection string (nats://, redis://, TCP…), as Moleculer parses it.
			(config.transporterUrl as BrokerOptions["transporter"]);

	return {
		namespace: config.namespace,
		nodeID: `${role}-${hostname()}-${process.pid}`,
		transporter,
		// Redis is an accelerator: cache commands fail fast and never reject, and an epoch in
		// every key keeps anything cached before an outage out of reach (lib/redis/epoch-cacher.ts).
		cacher: new EpochRedisCacher({
			prefix: `${config.redisPrefix}cache`,
			ttl: 300,
			// Moleculer does `new Redis(opts.redis)`: an options object, built from REDIS_URL.
			redis: cacheRedisOptions(config.redisUrl, {
				commandTimeoutMs: config.redisCommandTimeoutMs,
			}) as Record<string, unknown>,
		}),
		logger: {
			type: "Console",
			options: {
				level: config.logLevel as LogLevels,
				// json: one object per line with the fields of the call as keys (lib/observability/logging.ts).
				formatter: config.logFormat === "json" ? jsonLogFormatter : "short",
				colors: Boolean(process.stdout.isTTY),
				moduleColors: Boolean(process.stdout.isTTY),
			},
		},
		// Off for writes: a write that timed out may have committed, and a blind retry would place
		// a second order. Read actions turn it on (`retryPolicy: { enabled: true }`).
		retryPolicy: { enabled: false, retries: 3, delay: 100, maxDelay: 1000, factor: 2 },
		requestTimeout: 10_000,
		registry: { strategy: "RoundRobin", preferLocal: true },
		// A node killed with SIGKILL says no goodbye: it is dropped after heartbeatTimeout seconds,
		// and calls routed to it meanwhile fail. Short values keep that window small.
		heartbeatInterval: 2,
		heartbeatTimeout: 6,
		// Each service waits for the services it depends on; the gateway answers 503 meanwhile.
		dependencyTimeout: 0,
		tracking: { enabled: true, shutdownTimeout: 10_000 },
		skipProcessEventRegistration: false,
		// No reporter: the gateway's GET /metrics gathers every node's registry over Moleculer.
		metrics: { enabled: config.metrics, reporter: null },
		middlewares: [eventLoopMetrics()],
		// TRACING=true logs every span (lib/observability/tracing.ts).
		tracing: tracingOptions(config.tracing),
	};
}

function rpcOnCluster(config: Config): boolean {
	return amqpClusterSize(config) > 1 || splitUrls(config.transporterUrl).length > 1;
}
