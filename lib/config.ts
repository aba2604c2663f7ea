/**
 * Every setting of a Gozon node: a default, an environment variable and one line of doc.
 * The whole config is validated once at start; a bad value stops start-up with one line
 * naming the variable. How a setting's text is parsed lives in lib/config-parsers.ts.
 */
import { createPublicKey, type KeyObject } from "crypto";
import {
	bool,
	ConfigError,
	int,
	setting,
	splitUrls,
	text,
	url,
	urlList,
	type Setting,
} from "./config-parsers";
import {
	defaultConsumerOptions as consumer,
	defaultRelayOptions as relay,
} from "./messaging/options";

export { ConfigError, redactUrl, splitUrls } from "./config-parsers";

export type AuthMode = "header" | "jwt";

export const settings = {
	ordersDatabaseUrl: setting(
		"ORDERS_DATABASE_URL",
		"postgres://postgres@127.0.0.1:5432/gozon_orders",
		url(["postgres:", "postgresql:"]),
		"PostgreSQL database owned by the orders service (created if missing).",
	),
	paymentsDatabaseUrl: setting(
		"PAYMENTS_DATABASE_URL",
		"postgres://postgres@127.0.0.1:5432/gozon_payments",
		url(["postgres:", "postgresql:"]),
		"PostgreSQL database owned by the payments service (created if missing).",
	),
	amqpUrl: setting(
		"AMQP_URL",
		"amqp://guest:guest@127.0.0.1:5672",
		urlList(["amqp:", "amqps:"]),
		"RabbitMQ for the durable business queues orders.to_pay, payment.results and orders.to_refund; a comma-separated list names the nodes of a cluster: a node connects to the first that answers and, when it loses it, to the next.",
	),
	transporterUrl: setting(
		"TRANSPORTER",
		"",
		text,
		"Moleculer transporter URL (RPC between nodes), or a comma-separated list of amqp:// URLs; empty means the same RabbitMQ as AMQP_URL.",
	),
	amqpClusterSize: setting(
		"AMQP_CLUSTER_SIZE",
		0,
		int(0, 99),
		"RabbitMQ nodes behind AMQP_URL (set it when one URL leads to a cluster, e.g. a load balancer); 0: as many as AMQP_URL lists. From 2 on, a queue declared for the first time gets that many replicas and the RPC queues are transient, so that they move to a surviving node.",
	),
	rpcHoldMs: setting(
		"RPC_HOLD_MS",
		1000,
		int(0, 1900),
		"How long a call between nodes may wait while RPC cannot carry it (its connection being made again, its target's queue not yet declared on a surviving RabbitMQ node) before it fails with a 503; 0: fail at once. Under 2 s, so that writes still fail fast while the broker is down.",
	),
	redisUrl: setting(
		"REDIS_URL",
		"redis://127.0.0.1:6379",
		url(["redis:", "rediss:"]),
		"Redis for the Moleculer cacher and the order-status pub/sub channel.",
	),
	redisCommandTimeoutMs: setting(
		"REDIS_COMMAND_TIMEOUT_MS",
		100,
		int(5, 10000),
		"Longest a cache command may take; a read or write waits on Redis at most this per step, then goes on without the cache.",
	),
	redisPrefix: setting(
		"REDIS_PREFIX",
		"gozon:",
		text,
		"Prefix of every Redis key and channel this instance uses (cache keys, status channel).",
	),
	namespace: setting(
		"MOLECULER_NAMESPACE",
		"gozon",
		text,
		"Moleculer namespace: nodes with the same namespace and transporter form one cluster.",
	),
	apiPort: setting("API_PORT", 8000, int(0, 65535), "Port of the REST gateway (and socket.io)."),
	uiPort: setting("UI_PORT", 3000, int(0, 65535), "Port that serves the built dashboard."),
	serveUi: setting(
		"SERVE_UI",
		true,
		bool,
		"Whether a gateway node also serves the dashboard on UI_PORT.",
	),
	logLevel: setting(
		"LOG_LEVEL",
		"info",
		text,
		"Moleculer log level: fatal, error, warn, info, debug or trace.",
	),
	logFormat: setting(
		"LOG_FORMAT",
		"short",
		text,
		"Log line format: short (human readable) or json (one JSON object per line).",
	),
	relayBatchSize: setting(
		"OUTBOX_BATCH_SIZE",
		relay.batchSize,
		int(1, 10000),
		"Outbox rows a relay claims and publishes per round.",
	),
	relayConcurrency: setting(
		"OUTBOX_CONCURRENCY",
		relay.concurrency,
		int(1, 64),
		"Relay rounds a node runs at once (more cut latency at low load, cost CPU at high load).",
	),
	relayPollMs: setting(
		"OUTBOX_POLL_MS",
		relay.pollIntervalMs,
		int(10, 600000),
		`Fallback poll interval of the outbox relay (it takes rows older than ${relay.pollGraceMs / 1000} s); a writer publishes its own rows after its commit.`,
	),
	publishTimeoutMs: setting(
		"PUBLISH_TIMEOUT_MS",
		relay.publishTimeoutMs,
		int(100, 600000),
		"How long a publish of outbox rows waits for the broker's publisher confirms before the relay retries it.",
	),
	consumerPrefetch: setting(
		"CONSUMER_PREFETCH",
		consumer.prefetch,
		int(1, 65535),
		"Unacknowledged messages a business-queue consumer may hold.",
	),
	consumerBatchSize: setting(
		"CONSUMER_BATCH_SIZE",
		consumer.batchSize,
		int(1, 10000),
		"Most messages a consumer handles in one database transaction.",
	),
	consumerConcurrency: setting(
		"CONSUMER_CONCURRENCY",
		consumer.concurrency,
		int(1, 64),
		"Batches a consumer handles at once.",
	),
	maxDeliveries: setting(
		"MAX_DELIVERIES",
		consumer.maxDeliveries,
		int(1, 1000),
		"Attempts at a message before it goes to <queue>.dlq.",
	),
	consumerStallMs: setting(
		"CONSUMER_STALL_MS",
		60000,
		int(1000, 3600000),
		"GET /health/ready fails when a business-queue consumer has received or finished nothing for this long while its queue holds messages.",
	),
	dbPoolMax: setting("DB_POOL_MAX", 10, int(1, 1000), "Connections per node's database pool."),
	maxBalance: setting(
		"MAX_BALANCE",
		1_000_000_000_000_000,
		int(1, Number.MAX_SAFE_INTEGER),
		"Largest balance an account may reach, in kopecks (keeps money exact in JSON numbers).",
	),
	runMigrations: setting(
		"RUN_MIGRATIONS",
		true,
		bool,
		"Create the service's database if missing and migrate it when the node starts.",
	),
	metrics: setting(
		"METRICS",
		true,
		bool,
		"Collect Moleculer's metrics (request counts and latencies, process figures) for the gateway's GET /metrics; the Gozon figures are there either way.",
	),
	tracing: setting(
		"TRACING",
		false,
		bool,
		"Log one line per Moleculer span and per business message (trace and request id, orderId), to follow one order from the HTTP request through both services.",
	),
	orderStuckAfterS: setting(
		"ORDER_STUCK_AFTER_S",
		60,
		int(1, 86400),
		"An order still NEW this many seconds after it was placed has its payment request published again (then after doubling delays, up to 64 times this).",
	),
	inboxRetentionDays: setting(
		"INBOX_RETENTION_DAYS",
		7,
		int(1, 3650),
		"Days a consumer keeps the id of a handled message (its inbox row) to recognise a redelivery; older rows are deleted.",
	),
	idempotencyRetentionHours: setting(
		"IDEMPOTENCY_RETENTION_HOURS",
		24,
		int(1, 87600),
		"Hours an Idempotency-Key and its first response are kept; a retry after that is a new request.",
	),
	sweepIntervalMs: setting(
		"SWEEP_INTERVAL_MS",
		10000,
		int(100, 3600000),
		"How often each orders and payments node runs the stuck-order and retention sweeps (one node per database does the work at a time).",
	),
	healthTimeoutMs: setting(
		"HEALTH_TIMEOUT_MS",
		2000,
		int(100, 60000),
		"How long GET /health/ready waits for each check (a database query, a node's answer) before calling it down.",
	),
	healthDetails: setting(
		"HEALTH_DETAILS",
		false,
		bool,
		"Whether GET /health/ready also names nodes and gives each failed check's error (host:port, node ids); off: only up or down per check.",
	),
	metricsToken: setting(
		"METRICS_TOKEN",
		"",
		text,
		"When set, GET /metrics requires the header Authorization: Bearer <METRICS_TOKEN> (401 otherwise); empty: /metrics is open.",
	),
	rateLimitPerUserPerS: setting(
		"RATE_LIMIT_PER_USER_PER_S",
		100,
		int(0, 1_000_000),
		"Requests per second one user (one IP when the request has no valid identity) may make to /api, shared by all gateways through Redis; 0 turns the limit off.",
	),
	rateLimitBurst: setting(
		"RATE_LIMIT_BURST",
		200,
		int(1, 1_000_000),
		"Requests one user may make at once above the per-second rate (the token bucket's size).",
	),
	socketsPerUser: setting(
		"SOCKETS_PER_USER",
		20,
		int(0, 100_000),
		"socket.io connections one user may hold across all gateways; further handshakes are refused. 0 turns the cap off.",
	),
	authMode: setting(
		"AUTH_MODE",
		"header" as AuthMode,
		(raw, name) => {
			if (raw !== "header" && raw !== "jwt")
				throw new ConfigError(`${name} must be header or jwt, got "${raw}"`);
			return raw;
		},
		"How a caller proves who it is: header (trusts X-User-ID, for a local demo or behind an authenticating proxy) or jwt (a verified Bearer token).",
	),
	jwtSecret: setting(
		"JWT_SECRET",
		"",
		text,
		"jwt mode: shared secret of HS256 tokens (at least 32 characters). Set one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL.",
	),
	jwtPublicKey: setting(
		"JWT_PUBLIC_KEY",
		"",
		text,
		"jwt mode: PEM public key (RSA for RS256, P-256 for ES256) of the token issuer; \\n may stand for line breaks.",
	),
	jwtJwksUrl: setting(
		"JWT_JWKS_URL",
		"",
		url(["http:", "https:"]),
		"jwt mode: the identity provider's JWKS URL (RS256/ES256 keys, fetched on demand, cached and refreshed).",
	),
	jwtIssuer: setting("JWT_ISSUER", "", text, "jwt mode: when set, a token's iss must equal it."),
	jwtAudience: setting(
		"JWT_AUDIENCE",
		"",
		text,
		"jwt mode: when set, a token's aud must contain it.",
	),
	jwtClockSkewS: setting(
		"JWT_CLOCK_SKEW_S",
		30,
		int(0, 300),
		"jwt mode: seconds of clock difference tolerated on exp and nbf (a socket is dropped that long after exp).",
	),
	authDevTokens: setting(
		"AUTH_DEV_TOKENS",
		false,
		bool,
		"jwt mode with JWT_SECRET only: POST /api/auth/dev-token hands anyone a 1-hour token for any user id. A demo aid, never for production.",
	),
};

export type Config = { [K in keyof typeof settings]: (typeof settings)[K]["default"] };

/** Reads and validates the whole config from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
	const out: Record<string, unknown> = {};
	for (const [key, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
		const raw = env[s.env];
		out[key] = raw === undefined || raw === "" ? s.default : s.parse(raw, s.env);
	}
	const config = out as Config;
	if (!["short", "json"].includes(config.logFormat))
		throw new ConfigError(`LOG_FORMAT must be short or json, got "${config.logFormat}"`);
	if (!config.transporterUrl) config.transporterUrl = config.amqpUrl;
	else if (config.transporterUrl.startsWith("amqp"))
		config.transporterUrl = urlList(["amqp:", "amqps:"])(config.transporterUrl, "TRANSPORTER");
	checkAuth(config);
	return config;
}

/** The auth settings hang together: one key source in jwt mode, dev tokens only with a secret. */
function checkAuth(config: Config): void {
	config.jwtPublicKey = config.jwtPublicKey.replace(/\\n/g, "\n");
	const keys = [
		config.jwtSecret && "JWT_SECRET",
		config.jwtPublicKey && "JWT_PUBLIC_KEY",
		config.jwtJwksUrl && "JWT_JWKS_URL",
	].filter(Boolean);
	if (config.authMode === "jwt" && keys.length === 0)
		throw new ConfigError(
			"AUTH_MODE=jwt needs a key to verify tokens: set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL",
		);
	if (config.authMode === "jwt" && keys.length > 1)
		throw new ConfigError(`AUTH_MODE=jwt takes one key source, got ${keys.join(" and ")}`);
	if (config.jwtSecret && Buffer.byteLength(config.jwtSecret) < 32)
		throw new ConfigError("JWT_SECRET must be at least 32 characters (HS256 needs 256 bits)");
	if (config.jwtPublicKey) publicKeyAlgorithm(config.jwtPublicKey);
	if (config.authDevTokens && (config.authMode !== "jwt" || !config.jwtSecret))
		throw new ConfigError("AUTH_DEV_TOKENS=true needs AUTH_MODE=jwt and JWT_SECRET");
}

/** How many RabbitMQ nodes the business queues and the RPC run on (AMQP_CLUSTER_SIZE, else AMQP_URL's list). */
export function amqpClusterSize(config: Pick<Config, "amqpUrl" | "amqpClusterSize">): number {
	return config.amqpClusterSize || splitUrls(config.amqpUrl).length;
}

/** The one algorithm a PEM public key verifies: RS256 for RSA, ES256 for P-256. */
export function publicKeyAlgorithm(pem: string): "RS256" | "ES256" {
	let key: KeyObject;
	try {
		key = createPublicKey(pem);
	} catch {
		throw new ConfigError("JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
	}
	if (key.asymmetricKeyType === "rsa") return "RS256";
	if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1")
		return "ES256";
	throw new ConfigError("JWT_PUBLIC_KEY must be an RSA key (RS256) or a P-256 EC key (ES256)");
}
