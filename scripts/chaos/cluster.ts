/**
 * The chaos suite's own cluster (gateway, two orders nodes, payments; separate processes) in
 * its own databases, vhost, Redis prefix, namespace and ports, and the machine's services it
 * may stop. Nothing here blocks the event loop: the load generator shares this process.
 */
import { ChildProcess, spawn } from "child_process";
import { join } from "path";
import { projectRoot } from "../../lib/paths";
import { TcpProxy } from "../../test/support/tcp-proxy";
import { call, isolatedEnv, run, sleep } from "../support/harness";

// HEALTH_DETAILS: readiness lists every node, which is how recovery is told apart (by pid).
export const env: ReturnType<typeof isolatedEnv> = {
	...isolatedEnv("chaos", 18900),
	HEALTH_DETAILS: "true",
};
export let base = `http://127.0.0.1:${env.API_PORT}`;

/**
 * Moves the suite to another isolated set (databases, namespace, Redis prefix, ports) on another
 * RabbitMQ: the --cluster run, which may run beside a default one.
 */
export function isolateAs(name: string, apiPort: number, amqpUrl: string): void {
	Object.assign(env, isolatedEnv(name, apiPort), { AMQP_URL: amqpUrl });
	base = `http://127.0.0.1:${env.API_PORT}`;
}
/**
 * The business connections of orders-1 and of payments go through TCP proxies, one each, so that
 * a fault can make payments alone reconnect (see long-faults.ts); `proxy` cuts both.
 */
const ordersProxy = new TcpProxy(5672);
export const paymentsProxy = new TcpProxy(5672);
const both = [ordersProxy, paymentsProxy];
export const proxy = {
	async start() {
		for (const p of both) await p.start();
	},
	async cut() {
		await Promise.all(both.map(p => p.cut()));
	},
	async restore() {
		for (const p of both) await p.restore();
	},
	async stop() {
		await Promise.all(both.map(p => p.stop()));
	},
};

export interface Node {
	name: string;
	role: string;
	viaProxy: boolean;
	child?: ChildProcess;
	/** While the node runs under a supervisor (scripts/start.ts) instead: it, and the node's pid. */
	supervisor?: ChildProcess;
	supervisedPid?: number;
}

export const nodes: Node[] = [
	{ name: "gateway", role: "gateway", viaProxy: false },
	{ name: "orders-1", role: "orders", viaProxy: true },
	{ name: "orders-2", role: "orders", viaProxy: false },
	{ name: "payments", role: "payments", viaProxy: true },
];

export const nodeNamed = (name: string) => nodes.find(n => n.name === name)!;

export function launch(node: Node, extraEnv: Record<string, string> = {}) {
	const via = node.role === "payments" ? paymentsProxy : ordersProxy;
	const amqpUrl = node.viaProxy ? env.AMQP_URL.replace(":5672", `:${via.port}`) : env.AMQP_URL;
	const script = join(projectRoot, "dist", "scripts", "node.js");
	const child = spawn(process.execPath, [script, node.role], {
		// RPC goes straight to RabbitMQ; only the business queues of some nodes go through the proxy.
		env: {
			...process.env,
			...env,
			AMQP_URL: amqpUrl,
			TRANSPORTER: env.AMQP_URL,
			NODE_NAME: node.name,
			RUN_MIGRATIONS: "true",
			...extraEnv,
		},
		stdio: ["ignore", "ignore", "pipe"],
	});
	child.stderr!.on(
		"data",
		d => process.env.CHAOS_VERBOSE && process.stderr.write(`[${node.name}] ${d}`),
	);
	node.child = child;
	return child;
}

export const exited = (child: ChildProcess) =>
	child.exitCode !== null || child.signalCode !== null
		? Promise.resolve()
		: new Promise<void>(r => child.once("exit", () => r()));

export async function kill9(node: Node) {
	const child = node.child!;
	child.kill("SIGKILL");
	await exited(child);
}

/** SIGTERM, then SIGKILL after `ms` if it is still running; resolves once it has exited. */
export async function terminate(child: ChildProcess, ms = 15_000) {
	child.kill("SIGTERM");
	const t = setTimeout(() => child.kill("SIGKILL"), ms);
	await exited(child);
	clearTimeout(t);
}

export async function stopAll() {
	await Promise.all(
		nodes.map(async n => {
			// A supervisor stops its node on SIGTERM (scripts/start.ts), and waits for it.
			if (n.supervisor) await terminate(n.supervisor, 25_000);
			if (n.supervisedPid)
				try {
					process.kill(n.supervisedPid, "SIGKILL");
				} catch {
					// gone, as it should be
				}
			if (n.child) await terminate(n.child);
		}),
	);
}

/**
 * Waits until the gateway's GET /health/ready is 200 and lists exactly the orders and payments
 * nodes running now (by pid): the relaunched node is in, and a killed one is no longer listed.
 * Throws after `timeoutMs`, with the last answer.
 */
export async function waitReady(timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	const pids = (role: string) =>
		nodes
			.filter(n => n.role === role && (n.child || n.supervisedPid))
			.map(n => String(n.supervisedPid ?? n.child!.pid))
			.sort();
	for (;;) {
		const r = await call(base, "GET", "/health/ready", 1).catch(err => ({
			status: 0,
			body: (err as Error).message,
		}));
		const listed = (service: string): string[] =>
			(r.body?.checks?.[service]?.nodes ?? [])
				.map((n: { nodeID: string }) => n.nodeID.split("-").pop())
				.sort();
		const same = (a: string[], b: string[]) => a.join() === b.join();
		if (
			r.status === 200 &&
			// "degraded" (Redis down) answers 200 too: recovered means every check up again.
			r.body?.status === "ready" &&
			same(listed("orders"), pids("orders")) &&
			same(listed("payments"), pids("payments"))
		)
			return;
		const last = `${r.status} ${r.status === 200 ? "nodes " + JSON.stringify({ orders: listed("orders"), payments: listed("payments") }) : JSON.stringify(r.body?.failing ?? r.body)}`;
		if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs / 1000} s: ${last}`);
		await sleep(300);
	}
}

/** Starts whatever of PostgreSQL, RabbitMQ (node or app) and Redis is down: the README's own script. */
export async function ensureServices(): Promise<void> {
	await run("bash", [join(projectRoot, "scripts", "setup-machine.sh")], 180_000);
}

/** Which of PostgreSQL, RabbitMQ and Redis do not answer now. */
export async function servicesDown(): Promise<string[]> {
	const checks: [string, string, string[]][] = [
		["PostgreSQL", "pg_isready", ["-q", "-h", "127.0.0.1", "-p", "5432"]],
		["RabbitMQ", "rabbitmq-diagnostics", ["-q", "check_running"]],
		["Redis", "redis-cli", ["-h", "127.0.0.1", "-p", "6379", "ping"]],
	];
	const down = await Promise.all(
		checks.map(([name, cmd, args]) =>
			run(cmd, args, 30_000).then(
				out => (name === "Redis" && !out.includes("PONG") ? name : ""),
				() => name,
			),
		),
	);
	return down.filter(Boolean);
}
