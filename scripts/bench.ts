/**
 * `npm run bench`: end-to-end throughput and latency of the whole system, measured the way a
 * shop sees it — from `POST /api/orders` to the order's final `order.updated` push over
 * socket.io — then the invariants, and the machine's own ceiling (pgbench TPC-B-like).
 *
 * It starts its own cluster (like `npm start`: separate processes, two orders nodes) in its own
 * databases, vhost, Redis prefix, namespace and ports, so a running instance is never touched;
 * or measures a running one with --url. Figures go to stdout, bench-results/<time>.json and
 * bench-results/<time>.md.
 *
 *   npm run bench -- [--orders 6000] [--users 200] [--concurrency 64] [--rate R] [--quick]
 *                    [--url http://host:8000 --no-invariants] [--skip-pgbench]
 */
import { ChildProcess, spawn } from "child_process";
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import knexFactory, { Knex } from "knex";
import { io, Socket } from "socket.io-client";
import { cpus, totalmem } from "os";
import { projectRoot } from "../lib/paths";
import "../lib/db/knex";
import { agent, call, isolatedEnv, resetIsolated, sh, sleep, waitForApi } from "./support/harness";

interface Args {
	orders: number;
	users: number;
	concurrency: number;
	rate?: number;
	url?: string;
	quick: boolean;
	invariants: boolean;
	pgbench: boolean;
}

function parseArgs(argv: string[]): Args {
	const get = (name: string) => {
		const i = argv.indexOf(`--${name}`);
		return i >= 0 ? argv[i + 1] : undefined;
	};
	const quick = argv.includes("--quick");
	return {
		orders: Number(get("orders") ?? (quick ? 1500 : 6000)),
		users: Number(get("users") ?? 200),
		concurrency: Number(get("concurrency") ?? 64),
		rate: get("rate") ? Number(get("rate")) : undefined,
		url: get("url"),
		quick,
		invariants: !argv.includes("--no-invariants"),
		pgbench: !argv.includes("--skip-pgbench"),
	};
}

const benchEnv = isolatedEnv("bench", 18800);

// ---------- the cluster ----------

async function startCluster(): Promise<ChildProcess> {
	sh("npx", ["tsc", "-p", "tsconfig.build.json"]);
	resetIsolated("bench");
	const child = spawn(process.execPath, [join(projectRoot, "dist", "scripts", "start.js")], {
		env: { ...process.env, ...benchEnv },
		stdio: ["ignore", "pipe", "pipe"],
	});
	child.stderr!.on("data", d => process.stderr.write(d));
	child.stdout!.on("data", d => {
		if (/WARN|ERROR|FATAL/.test(String(d))) process.stdout.write(d);
	});
	await waitForApi(`http://127.0.0.1:${benchEnv.API_PORT}`);
	await sleep(1500); // every node discovered
	return child;
}

async function stopCluster(child: ChildProcess) {
	child.kill("SIGTERM");
	await new Promise(r => child.once("exit", r));
}

// ---------- sockets ----------

interface Tracker {
	sent: Map<string, number>;
	done: Map<string, { at: number; status: string }>;
	early: Map<string, { at: number; status: string }>;
	waiters: Map<string, () => void>;
}

function connectSockets(base: string, userIds: number[], tracker: Tracker): Promise<Socket[]> {
	return Promise.all(
		userIds.map(
			userId =>
				new Promise<Socket>((resolve, reject) => {
					const socket = io(base, { path: "/socket.io", auth: { userId }, transports: ["websocket"] });
					socket.on("order.updated", (e: { orderId: string; status: string }) => {
						if (e.status === "NEW") return;
						const at = performance.now();
						if (tracker.sent.has(e.orderId)) {
							if (!tracker.done.has(e.orderId)) tracker.done.set(e.orderId, { at, status: e.status });
							tracker.waiters.get(e.orderId)?.();
						} else tracker.early.set(e.orderId, { at, status: e.status });
					});
					socket.once("connect", () => resolve(socket));
					socket.once("connect_error", reject);
				}),
		),
	);
}

// ---------- a run ----------

interface RunResult {
	name: string;
	orders: number;
	concurrency?: number;
	rate?: number;
	postPerSec: number;
	e2ePerSec: number;
	latencyMs: { p50: number; p95: number; p99: number; max: number };
	finished: number;
	cancelled: number;
	unfinished: number;
	errors: number;
	errorKinds?: Record<string, number>;
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

async function runLoad(
	base: string,
	name: string,
	userIds: number[],
	amountOf: (i: number) => number,
	total: number,
	mode: { concurrency: number } | { rate: number },
): Promise<RunResult> {
	const tracker: Tracker = { sent: new Map(), done: new Map(), early: new Map(), waiters: new Map() };
	const sockets = await connectSockets(base, [...new Set(userIds)], tracker);
	let errors = 0;
	const errorKinds: Record<string, number> = {};
	let next = 0;
	const started = performance.now();
	let lastPost = started;
	const finals: Promise<void>[] = [];

	const placeOne = async (i: number) => {
		const userId = userIds[i % userIds.length];
		const t0 = performance.now();
		const r = await call(base, "POST", "/api/orders", userId, { amount: amountOf(i), description: `bench ${i}` }).catch(
			(err: Error) => ({ status: 0, body: err.message }),
		);
		lastPost = performance.now();
		if (r.status !== 202) {
			errors++;
			const kind = r.status ? `${r.status} ${r.body?.type ?? ""}`.trim() : `network: ${r.body}`;
			errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
			return;
		}
		const id = r.body.id as string;
		tracker.sent.set(id, t0);
		const early = tracker.early.get(id);
		if (early) tracker.done.set(id, early);
		if (!tracker.done.has(id))
			finals.push(new Promise<void>(resolve => tracker.waiters.set(id, resolve)));
	};

	if ("concurrency" in mode) {
		await Promise.all(
			Array.from({ length: mode.concurrency }, async () => {
				while (next < total) await placeOne(next++);
			}),
		);
	} else {
		const interval = 1000 / mode.rate;
		const inFlight: Promise<void>[] = [];
		for (let i = 0; i < total; i++) {
			const due = started + i * interval;
			const wait = due - performance.now();
			if (wait > 1) await sleep(wait);
			inFlight.push(placeOne(i));
		}
		await Promise.all(inFlight);
	}
	const postsDone = lastPost;
	await Promise.race([Promise.all(finals), sleep(60_000)]);
	sockets.forEach(s => s.close());

	const latencies = [...tracker.done.entries()].map(([id, d]) => d.at - tracker.sent.get(id)!).sort((a, b) => a - b);
	const lastFinal = Math.max(...[...tracker.done.values()].map(d => d.at));
	const statuses = [...tracker.done.values()].map(d => d.status);
	return {
		name,
		orders: total,
		...("concurrency" in mode ? { concurrency: mode.concurrency } : { rate: mode.rate }),
		postPerSec: round((tracker.sent.size / (postsDone - started)) * 1000),
		e2ePerSec: round((tracker.done.size / (lastFinal - started)) * 1000),
		latencyMs: { p50: round(pct(latencies, 50)), p95: round(pct(latencies, 95)), p99: round(pct(latencies, 99)), max: round(latencies[latencies.length - 1]) },
		finished: statuses.filter(s => s === "FINISHED").length,
		cancelled: statuses.filter(s => s === "CANCELLED").length,
		unfinished: tracker.sent.size - tracker.done.size,
		errors,
		...(errors ? { errorKinds } : {}),
	};
}

const round = (n: number) => Math.round(n * 10) / 10;

// ---------- setup and checks ----------

async function fundUsers(base: string, userIds: number[], amount: number) {
	for (let i = 0; i < userIds.length; i += 32)
		await Promise.all(
			userIds.slice(i, i + 32).map(async u => {
				await call(base, "POST", "/api/accounts", u);
				const r = await call(base, "POST", "/api/accounts/me/top-ups", u, { amount });
				if (r.status !== 200) throw new Error(`Funding user ${u} failed: ${r.status} ${JSON.stringify(r.body)}`);
			}),
		);
}

async function checkInvariants(orders: Knex, payments: Knex, userIds: number[], funding: number) {
	const problems: string[] = [];
	const notFinal = await orders("orders").whereIn("user_id", userIds).where("status", "NEW").count({ n: "*" }).first();
	if (Number(notFinal?.n)) problems.push(`${notFinal?.n} orders still NEW`);
	const spent = await orders("orders").whereIn("user_id", userIds).where("status", "FINISHED").groupBy("user_id").select("user_id", orders.raw("sum(amount)::bigint AS spent"));
	const spentBy = new Map(spent.map((r: any) => [Number(r.user_id), Number(r.spent)]));
	const accounts = await payments("accounts").whereIn("user_id", userIds).select("user_id", "balance");
	const ledger = await payments("account_transactions").whereIn("user_id", userIds).groupBy("user_id").select("user_id", payments.raw("sum(amount)::bigint AS sum"));
	const ledgerBy = new Map(ledger.map((r: any) => [Number(r.user_id), Number(r.sum)]));
	for (const a of accounts) {
		const expected = funding - (spentBy.get(a.user_id) ?? 0);
		if (a.balance < 0) problems.push(`user ${a.user_id} balance ${a.balance} < 0`);
		if (a.balance !== expected) problems.push(`user ${a.user_id} balance ${a.balance} ≠ funding − finished orders ${expected}`);
		if (ledgerBy.get(a.user_id) !== a.balance) problems.push(`user ${a.user_id} balance ${a.balance} ≠ ledger ${ledgerBy.get(a.user_id)}`);
	}
	const doubled = await payments("account_transactions").whereNotNull("order_id").groupBy("order_id").havingRaw("count(*) > 1").count({ n: "*" });
	if (doubled.length) problems.push(`${doubled.length} orders debited more than once`);
	return problems;
}

function pgbenchTps(): number | undefined {
	try {
		sh("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", "DROP DATABASE IF EXISTS gozon_pgbench"]);
		sh("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", "CREATE DATABASE gozon_pgbench"]);
		sh("pgbench", ["-h", "127.0.0.1", "-U", "postgres", "-i", "-q", "-s", "10", "gozon_pgbench"]);
		const out = sh("pgbench", ["-h", "127.0.0.1", "-U", "postgres", "-c", "8", "-j", "2", "-T", "15", "gozon_pgbench"]);
		sh("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", "DROP DATABASE IF EXISTS gozon_pgbench"]);
		const m = out.match(/tps = ([\d.]+)/);
		return m ? Number(m[1]) : undefined;
	} catch (err) {
		console.error(`pgbench failed: ${(err as Error).message}`);
		return undefined;
	}
}

// ---------- main ----------

function table(results: RunResult[]): string {
	const head = "| run | orders | load | POST/s | end-to-end orders/s | p50 ms | p95 ms | p99 ms | max ms | FINISHED | CANCELLED | unfinished | errors |";
	const rows = results.map(
		r =>
			`| ${r.name} | ${r.orders} | ${r.concurrency ? `closed loop, ${r.concurrency} clients` : `open loop, ${r.rate}/s`} | ${r.postPerSec} | ${r.e2ePerSec} | ${r.latencyMs.p50} | ${r.latencyMs.p95} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.finished} | ${r.cancelled} | ${r.unfinished} | ${r.errors} |`,
	);
	return [head, "|---|---|---|---|---|---|---|---|---|---|---|---|---|", ...rows].join("\n");
}

async function main() {
	const args = parseArgs(process.argv.slice(2));
	// The machine's ceiling first, on a quiet machine.
	if (args.pgbench) console.log("pgbench TPC-B-like, scale 10, 8 clients, 15 s…");
	const tps = args.pgbench ? pgbenchTps() : undefined;
	const cluster = args.url ? undefined : await startCluster();
	const base = args.url ?? `http://127.0.0.1:${benchEnv.API_PORT}`;
	const results: RunResult[] = [];
	const problems: string[] = [];
	const idBase = Math.floor(Date.now() / 1000) * 1000;
	try {
		const amount = 100;
		const perUser = Math.ceil(args.orders / args.users);
		// Funded for ~90% of the orders, so both outcomes happen.
		const funding = Math.floor(perUser * 0.9) * amount;

		const spread = Array.from({ length: args.users }, (_, i) => idBase + i + 1);
		await fundUsers(base, spread, funding);
		console.log(`warm-up…`);
		await runLoad(base, "warm-up", spread, () => 1, Math.min(500, args.orders), { concurrency: args.concurrency });

		const spreadUsers2 = spread.map(u => u + 100_000);
		await fundUsers(base, spreadUsers2, funding);
		const closed = await runLoad(base, "spread accounts", spreadUsers2, () => amount, args.orders, { concurrency: args.concurrency });
		results.push(closed);
		console.log(table([closed]));

		const rate = args.rate ?? Math.max(10, Math.round(closed.e2ePerSec / 2));
		const openUsers = spread.map(u => u + 200_000);
		await fundUsers(base, openUsers, funding);
		const open = await runLoad(base, "spread accounts, half rate", openUsers, () => amount, Math.min(args.orders, Math.round(rate * (args.quick ? 5 : 10))), { rate });
		results.push(open);
		console.log(table([open]));

		const hot = [idBase + 300_001];
		await fundUsers(base, hot, Math.floor(args.orders * 0.9) * amount);
		const hotRun = await runLoad(base, "one hot account", hot, () => amount, args.orders, { concurrency: args.concurrency });
		results.push(hotRun);
		console.log(table([hotRun]));

		if (args.invariants && !args.url) {
			const orders = knexFactory({ client: "pg", connection: benchEnv.ORDERS_DATABASE_URL });
			const payments = knexFactory({ client: "pg", connection: benchEnv.PAYMENTS_DATABASE_URL });
			try {
				problems.push(...(await checkInvariants(orders, payments, spreadUsers2, funding)));
				problems.push(...(await checkInvariants(orders, payments, openUsers, funding)));
				problems.push(...(await checkInvariants(orders, payments, hot, Math.floor(args.orders * 0.9) * amount)));
			} finally {
				await orders.destroy();
				await payments.destroy();
			}
		}
	} finally {
		if (cluster) await stopCluster(cluster);
		agent.destroy();
	}

	const closed = results[0];
	const ratio = tps ? Math.round((closed.e2ePerSec / tps) * 1000) / 1000 : undefined;
	const hotRatio = Math.round((results[2].e2ePerSec / closed.e2ePerSec) * 100) / 100;
	const machine = `${cpus().length} cores (${cpus()[0]?.model?.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
	const summary = [
		`Machine: ${machine}`,
		tps ? `pgbench TPC-B-like (scale 10, 8 clients, 15 s): ${tps.toFixed(0)} tps; end-to-end orders/s ÷ pgbench tps = ${ratio} (target ≥ 0.25)` : "pgbench: skipped",
		`Half-rate run (${results[1].rate}/s): p50 ${results[1].latencyMs.p50} ms (target ≤ 30), p99 ${results[1].latencyMs.p99} ms (target ≤ 150)`,
		`Hot account ÷ spread: ${hotRatio} (target ≥ 0.5)`,
		problems.length ? `INVARIANTS VIOLATED:\n- ${problems.join("\n- ")}` : "Invariants: every order final, balance = funding − finished orders = ledger sum, none negative, no order debited twice — all hold.",
	];
	for (const r of results) if (r.errorKinds) summary.push(`POST errors in "${r.name}": ${JSON.stringify(r.errorKinds)}`);
	const missed = (ratio !== undefined && ratio < 0.25) || results[1].latencyMs.p50 > 30 || results[1].latencyMs.p99 > 150 || hotRatio < 0.5;
	if (missed)
		summary.push(
			"Targets missed above: on a 2-core machine the whole system is CPU-bound (PostgreSQL, RabbitMQ, four Node processes and this load generator share the cores); docs/benchmark.md says where the time goes and what was tried.",
		);
	const md = [table(results), "", ...summary.map(l => `- ${l}`)].join("\n");
	console.log(`\n${md}`);
	const dir = join(projectRoot, "bench-results");
	mkdirSync(dir, { recursive: true });
	const stamp = new Date().toISOString().replace(/[:.]/g, "-");
	writeFileSync(join(dir, `${stamp}.json`), JSON.stringify({ machine, args, pgbenchTps: tps, ratio, hotRatio, results, problems }, null, 2));
	writeFileSync(join(dir, `${stamp}.md`), md + "\n");
	console.log(`\nWritten to bench-results/${stamp}.{json,md}`);
	process.exit(problems.length ? 1 : 0);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
