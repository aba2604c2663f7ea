import { execFileSync } from "child_process";
import Redis from "ioredis";
import { Client } from "pg";
import { migrateDatabase } from "../../lib/db/migrate";
import { testEnv, TEST_VHOST } from "./env";

/** Drops the database named in `url`, if it exists, whoever is connected to it. */
export async function dropDatabase(url: string) {
	const name = new URL(url).pathname.slice(1);
	const admin = new Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
	await admin.connect();
	try {
		await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
	} finally {
		await admin.end();
	}
}

function recreateVhost() {
	const ctl = (...args: string[]) =>
		execFileSync("rabbitmqctl", ["-q", ...args], { stdio: "pipe", timeout: 60_000 });
	try {
		ctl("delete_vhost", TEST_VHOST);
	} catch {
		// did not exist
	}
	ctl("add_vhost", TEST_VHOST);
	ctl("set_permissions", "-p", TEST_VHOST, "guest", ".*", ".*", ".*");
}

async function clearRedis() {
	const redis = new Redis(testEnv.REDIS_URL);
	try {
		const keys = await redis.keys(`${testEnv.REDIS_PREFIX}*`);
		if (keys.length) await redis.del(keys);
	} finally {
		redis.disconnect();
	}
}

/** Fresh test databases, vhost and Redis keys once per run. */
export const mochaHooks = {
	async beforeAll(this: Mocha.Context) {
		this.timeout(120_000);
		await dropDatabase(testEnv.ORDERS_DATABASE_URL);
		await dropDatabase(testEnv.PAYMENTS_DATABASE_URL);
		await migrateDatabase("orders", testEnv.ORDERS_DATABASE_URL);
		await migrateDatabase("payments", testEnv.PAYMENTS_DATABASE_URL);
		recreateVhost();
		await clearRedis();
	},
};
