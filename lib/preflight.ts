import Redis from "ioredis";
import { Client } from "pg";
import { redactUrl } from "./config";
import { connectFirst } from "./messaging/connection";

const HOW_TO_START = {
	PostgreSQL: "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
	RabbitMQ: "rabbitmq-server -detached",
	Redis: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
};

type Dependency = keyof typeof HOW_TO_START;

async function reach(
	name: Dependency,
	url: string,
	probe: () => Promise<void>,
): Promise<string | null> {
	try {
		await probe();
		return null;
	} catch (err) {
		const reason = (err as { code?: string; message?: string }).code ?? (err as Error).message;
		return `${name} is not reachable at ${redactUrl(url)} (${reason}). Start it with: ${HOW_TO_START[name]}`;
	}
}

/** Connects to the `postgres` maintenance database, so a database not created yet is no failure. */
export function checkPostgres(url: string) {
	return reach("PostgreSQL", url, async () => {
		const admin = new URL(url);
		admin.pathname = "/postgres";
		const client = new Client({
			connectionString: admin.toString(),
			connectionTimeoutMillis: 3000,
		});
		await client.connect();
		await client.end();
	});
}

/** Reachable when one URL of the list answers (the nodes of a cluster). */
export function checkRabbitMq(urls: string) {
	return reach("RabbitMQ", urls, async () => {
		const conn = await connectFirst(urls, 3000);
		await conn.close();
	});
}

export function checkRedis(url: string) {
	return reach("Redis", url, async () => {
		const redis = new Redis(url, {
			lazyConnect: true,
			maxRetriesPerRequest: 0,
			retryStrategy: () => null,
			connectTimeout: 3000,
		});
		let cause: Error | undefined;
		redis.on("error", err => (cause = err));
		try {
			await redis.connect().catch(err => {
				throw cause ?? err;
			});
			await redis.ping();
		} finally {
			redis.disconnect();
		}
	});
}

/**
 * One line per unreachable required dependency (PostgreSQL, RabbitMQ); empty when they are up.
 * Redis is an accelerator, so a node starts without it: an unreachable Redis is only a
 * warning (`warn`, stderr by default), and the node uses it once it answers.
 */
export async function preflight(
	urls: { postgres: string[]; amqp: string; redis: string },
	warn: (line: string) => void = line => process.stderr.write(`${line}\n`),
): Promise<string[]> {
	const [redis, ...results] = await Promise.all([
		checkRedis(urls.redis),
		...[...new Set(urls.postgres)].map(checkPostgres),
		checkRabbitMq(urls.amqp),
	]);
	if (redis)
		warn(
			`Warning: ${redis}. Starting without it: reads go to PostgreSQL and no live pushes until it answers.`,
		);
	return [...new Set(results.filter((r): r is string => r !== null))];
}

/** The Node.js major Gozon runs on (package.json engines, .nvmrc, scripts/setup-machine.sh). */
export const NODE_MAJOR = 24;

/** A line saying why this Node.js is too old and how to get the right one, or null. */
export function checkNodeVersion(version = process.versions.node): string | null {
	const major = Number(version.split(".")[0]);
	return major >= NODE_MAJOR
		? null
		: `Gozon needs Node.js ${NODE_MAJOR} or newer; this is ${version}. Install it with: bash scripts/setup-machine.sh (puts Node ${NODE_MAJOR} at /usr/local/bin/node)`;
}
