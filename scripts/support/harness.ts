/**
 * What the benchmark and the chaos suite share: an isolated environment (own databases,
 * vhost, Redis prefix, namespace, ports), a keep-alive HTTP client, and shell helpers.
 */
import { execFileSync, spawn } from "child_process";
import { Agent, request } from "http";

/** A parsed JSON body, typed as JSON.parse types it (callers read the fields they expect). */
type Json = ReturnType<typeof JSON.parse>;

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * Runs a command and waits for it, blocking the whole process (and so any load this process
 * generates): only for set-up and tear-down, never while load runs. See `run`.
 */
export function sh(cmd: string, args: string[], timeout = 120_000): string {
	return execFileSync(cmd, args, { stdio: "pipe", encoding: "utf8", timeout });
}

/**
 * Runs a command without blocking the event loop, so a load generator in this process keeps
 * its rate while the command (a broker restart, the set-up script) takes seconds. Resolves
 * with its stdout; rejects on a non-zero exit, or after `timeout` ms, when its whole process
 * group is killed (the set-up script starts children of its own).
 */
export function run(cmd: string, args: string[], timeout = 120_000): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
		let out = "";
		let err = "";
		child.stdout.on("data", d => (out += d));
		child.stderr.on("data", d => (err += d));
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			try {
				process.kill(-child.pid!, "SIGKILL");
			} catch {
				child.kill("SIGKILL");
			}
		}, timeout);
		child.on("error", e => {
			clearTimeout(timer);
			reject(e);
		});
		// "exit", not "close": a daemon it starts (redis-server, rabbitmq-server) may keep the
		// pipes open long after the command itself is done.
		child.on("exit", code => {
			clearTimeout(timer);
			setTimeout(() => {
				if (code === 0) return resolve(out);
				const why = timedOut ? `timed out after ${timeout / 1000} s` : `exit code ${code}`;
				reject(new Error(`${cmd} ${args.join(" ")}: ${why}${err.trim() ? `: ${err.trim()}` : ""}`));
			}, 100);
		});
	});
}

/** Environment of a cluster named `name` (bench, chaos…) that touches nothing else. */
export function isolatedEnv(name: string, apiPort: number): Record<string, string> {
	return {
		ORDERS_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/gozon_orders_${name}`,
		PAYMENTS_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/gozon_payments_${name}`,
		AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/gozon_${name}`,
		REDIS_PREFIX: `gozon-${name}:`,
		MOLECULER_NAMESPACE: `gozon-${name}`,
		API_PORT: String(apiPort),
		UI_PORT: String(apiPort + 1),
		SERVE_UI: "false",
		LOG_LEVEL: "warn",
	};
}

/** Drops a database of the local PostgreSQL, with whatever connections it still has. */
export function dropDatabase(name: string): void {
	sh("psql", [
		"-h",
		"127.0.0.1",
		"-U",
		"postgres",
		"-qc",
		`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`,
	]);
}

/** Drops the databases and recreates the vhost of an isolated environment. */
export function resetIsolated(name: string): void {
	for (const db of [`gozon_orders_${name}`, `gozon_payments_${name}`]) dropDatabase(db);
	try {
		sh("rabbitmqctl", ["-q", "delete_vhost", `gozon_${name}`]);
	} catch {
		// absent
	}
	sh("rabbitmqctl", ["-q", "add_vhost", `gozon_${name}`]);
	sh("rabbitmqctl", ["-q", "set_permissions", "-p", `gozon_${name}`, "guest", ".*", ".*", ".*"]);
}

export const agent = new Agent({ keepAlive: true, maxSockets: 512 });

export function call(
	base: string,
	method: string,
	path: string,
	userId: number,
	body?: unknown,
	headers: Record<string, string> = {},
): Promise<{ status: number; body: Json }> {
	return new Promise((resolve, reject) => {
		const payload = body === undefined ? undefined : JSON.stringify(body);
		const req = request(
			base + path,
			{
				method,
				agent,
				timeout: 15_000,
				headers: {
					"X-User-ID": String(userId),
					...headers,
					...(payload
						? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) }
						: {}),
				},
			},
			res => {
				const chunks: Buffer[] = [];
				res.on("data", c => chunks.push(c));
				res.on("end", () => {
					const text = Buffer.concat(chunks).toString();
					let parsed: unknown;
					try {
						parsed = text ? JSON.parse(text) : undefined;
					} catch {
						parsed = text;
					}
					resolve({ status: res.statusCode ?? 0, body: parsed });
				});
			},
		);
		req.on("timeout", () => req.destroy(new Error("timeout")));
		req.on("error", reject);
		if (payload) req.write(payload);
		req.end();
	});
}

/** Waits until GET /api/orders answers 200 (every service discovered), or throws. */
export async function waitForApi(base: string, timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = await call(base, "GET", "/api/accounts/me", 1).catch(() => ({ status: 0 }));
		const o = await call(base, "GET", "/api/orders?limit=1", 1).catch(() => ({ status: 0 }));
		if ((r.status === 200 || r.status === 404) && o.status === 200) return;
		if (Date.now() > deadline)
			throw new Error(`The API at ${base} did not come up within ${timeoutMs / 1000} s`);
		await sleep(300);
	}
}
