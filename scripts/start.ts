/**
 * `npm start`: checks PostgreSQL, RabbitMQ and Redis, creates and migrates both databases,
 * then runs the cluster as separate processes (a gateway, ORDERS_NODES orders nodes, a
 * payments node) with their output prefixed by node name. A node that dies is started
 * again, after a delay that grows while it keeps dying and starts over once it has run for a
 * minute. Ctrl-C (SIGINT) or SIGTERM stops every node gracefully, then exits. If this process
 * is killed outright (SIGKILL), each node sees its IPC channel close and stops by itself.
 */
import { ChildProcess, spawn } from "child_process";
import { createInterface } from "readline";
import { ConfigError, loadConfig } from "../lib/config";
import { migrateDatabase } from "../lib/db/migrate";
import { checkNodeVersion, preflight } from "../lib/preflight";
import { nextRestart } from "./support/restart-policy";

interface NodeSpec {
	name: string;
	role: string;
	child?: ChildProcess;
	restarts: number;
	startedAt?: number;
}

const STOP_TIMEOUT_MS = 20_000;
let stopping = false;

function count(name: string, def: number): number {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return def;
	if (!/^\d+$/.test(raw) || Number(raw) > 16)
		throw new ConfigError(`${name} must be an integer from 0 to 16, got "${raw}"`);
	return Number(raw);
}

function prefixLines(stream: NodeJS.ReadableStream, prefix: string, out: NodeJS.WritableStream) {
	createInterface({ input: stream }).on("line", line => out.write(`${prefix} ${line}\n`));
}

function launch(node: NodeSpec) {
	const child = spawn(
		process.execPath,
		[...process.execArgv, require.resolve("./node"), node.role],
		{
			env: { ...process.env, NODE_ROLE: node.role, NODE_NAME: node.name, RUN_MIGRATIONS: "false" },
			// The IPC channel is how a node learns that this supervisor died (see lib/parent-watch.ts).
			stdio: ["ignore", "pipe", "pipe", "ipc"],
			// Own process group: a terminal's Ctrl-C reaches only this supervisor, which then
			// stops the nodes one SIGTERM each.
			detached: true,
		},
	);
	node.child = child;
	node.startedAt = Date.now();
	console.log(`[start]      ${node.name} started (pid ${child.pid})`);
	const prefix = `[${node.name}]`.padEnd(12);
	prefixLines(child.stdout!, prefix, process.stdout);
	prefixLines(child.stderr!, prefix, process.stderr);
	child.on("exit", (code, signal) => {
		node.child = undefined;
		if (stopping) return;
		const next = nextRestart(node.restarts, Date.now() - (node.startedAt ?? 0));
		node.restarts = next.restarts;
		const delay = next.delayMs;
		console.error(
			`[start]      ${node.name} exited (${signal ?? code}); starting it again in ${delay} ms`,
		);
		setTimeout(() => !stopping && launch(node), delay);
	});
}

function stopAll(nodes: NodeSpec[], signal: string) {
	if (stopping) return;
	stopping = true;
	console.log(`[start]      ${signal}: stopping ${nodes.filter(n => n.child).length} nodes…`);
	const running = nodes.filter(n => n.child);
	for (const n of running) n.child!.kill("SIGTERM");
	const killer = setTimeout(() => {
		for (const n of nodes)
			if (n.child) {
				console.error(`[start]      ${n.name} did not stop in time, killing it`);
				n.child.kill("SIGKILL");
			}
	}, STOP_TIMEOUT_MS);
	void Promise.all(
		running.map(n => new Promise(r => (n.child ? n.child.once("exit", r) : r(null)))),
	).then(() => {
		clearTimeout(killer);
		console.log("[start]      all nodes stopped");
		process.exit(0);
	});
}

async function main() {
	const tooOld = checkNodeVersion();
	if (tooOld) throw new ConfigError(tooOld);
	const config = loadConfig();
	const gateways = count("GATEWAY_NODES", 1);
	const orders = count("ORDERS_NODES", 2);
	const payments = count("PAYMENTS_NODES", 1);

	const down = await preflight({
		postgres: [config.ordersDatabaseUrl, config.paymentsDatabaseUrl],
		amqp: config.amqpUrl,
		redis: config.redisUrl,
	});
	if (down.length) throw new ConfigError(down.join("\n"));
	for (const [db, url] of [
		["orders", config.ordersDatabaseUrl],
		["payments", config.paymentsDatabaseUrl],
	] as const) {
		const applied = await migrateDatabase(db, url);
		console.log(
			`[start]      database ${db}: ${applied.length ? `applied ${applied.join(", ")}` : "up to date"}`,
		);
	}

	const nodes: NodeSpec[] = [];
	const add = (role: string, n: number) => {
		for (let i = 1; i <= n; i++)
			nodes.push({ name: n > 1 ? `${role}-${i}` : role, role, restarts: 0 });
	};
	add("gateway", gateways);
	add("orders", orders);
	add("payments", payments);
	nodes.forEach(launch);
	process.on("SIGINT", () => stopAll(nodes, "SIGINT"));
	process.on("SIGTERM", () => stopAll(nodes, "SIGTERM"));
	console.log(
		`[start]      API http://localhost:${config.apiPort}/api · dashboard http://localhost:${config.uiPort} · RabbitMQ console http://localhost:15672 · Ctrl-C stops`,
	);
}

main().catch(err => {
	console.error(
		err instanceof ConfigError ? err.message : `Start-up failed: ${(err as Error).stack ?? err}`,
	);
	process.exit(1);
});
