/**
 * The test environment: own databases, RabbitMQ vhost, Redis key prefix and Moleculer
 * namespace, so tests never touch a running instance's data. Set before anything reads
 * the config.
 */
export const testEnv = {
	ORDERS_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/gozon_orders_test",
	PAYMENTS_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/gozon_payments_test",
	AMQP_URL: "amqp://guest:guest@127.0.0.1:5672/gozon_test",
	REDIS_URL: "redis://127.0.0.1:6379",
	REDIS_PREFIX: "gozon-test:",
	MOLECULER_NAMESPACE: "gozon-test",
	API_PORT: "18000",
	UI_PORT: "13000",
	SERVE_UI: "false",
	LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "error",
	RUN_MIGRATIONS: "false",
	OUTBOX_POLL_MS: "500",
};

export const TEST_VHOST = "gozon_test";

for (const [k, v] of Object.entries(testEnv)) process.env[k] = v;
