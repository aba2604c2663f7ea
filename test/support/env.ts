/**
 * The test environment: own databases, RabbitMQ vhost, Redis key prefix and Moleculer
 * namespace, so tests never touch a running instance's data. Set before anything reads
 * the config.
 */
// TEST_SLOT=n gives a second test run on the same machine its own names and ports.
const slot = Number(process.env.TEST_SLOT ?? 0);
const suffix = slot ? `_${slot}` : "";

export const TEST_VHOST = `gozon_test${suffix}`;

export const testEnv = {
	ORDERS_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/gozon_orders_test${suffix}`,
	PAYMENTS_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/gozon_payments_test${suffix}`,
	AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/${TEST_VHOST}`,
	REDIS_URL: "redis://127.0.0.1:6379",
	REDIS_PREFIX: `gozon-test${suffix}:`,
	MOLECULER_NAMESPACE: `gozon-test${suffix}`,
	API_PORT: String(18000 + slot * 10),
	UI_PORT: String(13000 + slot * 10),
	SERVE_UI: "false",
	LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "error",
	RUN_MIGRATIONS: "false",
	OUTBOX_POLL_MS: "500",
};

for (const [k, v] of Object.entries(testEnv)) process.env[k] = v;
