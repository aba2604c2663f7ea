/**
 * `npm run bench`: end-to-end throughput and latency of the whole system, measured the way a
 * shop sees it — from `POST /api/orders` to the order's final `order.updated` push over
 * socket.io — against the machine's own ceiling (pgbench TPC-B-like, measured first in the same
 * run), then the invariants.
 *
 * It starts its own cluster (like `npm start`: separate processes, two orders nodes) in its own
 * databases, vhost, Redis prefix, namespace and ports, so a running instance is never touched;
 * or measures a running one with --url. Runs: a warm-up; 200 accounts closed loop (the
 * saturation run); an open loop at the target half rate, 0.125 × pgbench tps (half of the
 * end-to-end target 0.25 × pgbench), whatever the build measured; an open loop at 20 orders/s
 * for 30 s (the low-load cost); one hot account closed loop. --orders-nodes and --payments-nodes
 * shape the cluster (default two orders nodes and one payments node, as `npm start`).
 *
 * Before the runs it measures the idle system's CPU ms per second by component (15 s, no load).
 * Per run it prints CPU ms per order by component (scripts/support/cpu-sampler.ts) and the
 * batching figures behind them: PostgreSQL transactions and statements, relay rounds and rows
 * per round, consumer batch sizes, AMQP messages, per order (scripts/support/bench-batching.ts).
 *
 * Open-loop latency runs from each order's scheduled send time, so a load generator that falls
 * behind shows in the figures. Every order placed counts in the percentiles; a failed POST or a
 * push that did not come within 60 s counts as +Infinity.
 *
 * Targets: end-to-end orders/s ≥ 0.25 × pgbench tps; at the half rate p50 ≤ 30 ms and
 * p99 ≤ 150 ms; hot account ≥ 0.5 × spread; server CPU (all nodes, PostgreSQL, RabbitMQ,
 * Redis) ≤ 3.0 ms per order in the saturation run and ≤ 8 ms per order at 20 orders/s. Checks: every POST answered 202; every accepted
 * order's final push within 60 s; CANCELLED exactly as the funding implies (the spread and hot
 * runs are funded for ~90 % of their orders), all for INSUFFICIENT_FUNDS; the invariants in the
 * bench databases (not checked with --url or --no-invariants, and then said so).
 *
 * Exits 1 when a target is missed or not measured (pgbench skipped or failed), or a check
 * fails; --report-only exits 0 and says so in its output and in the JSON. Figures go to stdout,
 * bench-results/<time>.{json,md} and bench-results/latest.json (`targets: [{ name, value,
 * limit, op, met }]`, value null when not measured, "+Infinity" when an order failed).
 *
 *   npm run bench -- [--orders 6000] [--users 200] [--concurrency 64] [--rate R] [--quick]
 *                    [--orders-nodes 2] [--payments-nodes 1]
 *                    [--url http://host:8000] [--no-invariants] [--skip-pgbench] [--report-only]
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { join } from "path";
import { cpus, totalmem } from "os";
import { projectRoot } from "../lib/paths";
import "../lib/db/knex";
import { buildServer } from "./build-server";
import { agent, isolatedEnv, resetIsolated, sleep, waitForApi } from "./support/harness";
import { RunResult } from "./support/bench-load";
import { Args, environmentOverrides, parseArgs } from "./support/bench-args";
import { BatchingProbe, batchingTable } from "./support/bench-batching";
import { LOW_RATE, measure } from "./support/bench-runs";
import { stageLatencies, stagesTable } from "./support/bench-stages";
import {
	Check,
	checkRefusals,
	countCheck,
	invariantsCheck,
	invariantsNotChecked,
	PGBENCH,
	pgbenchTps,
	withBenchDatabases,
} from "./support/bench-checks";
import {
	checkLines,
	clearLatest,
	cpuTable,
	cpuTarget,
	idleLine,
	lowRateSplit,
	notMeasured,
	table,
	Target,
	target,
	targetLines,
	writeResults,
} from "./support/bench-report";

// The hot-account run sends one user's orders as fast as the system takes them, far past the
// per-user rate limit: the cluster the bench starts runs without it (and the output says so).
// The batching figures read the nodes' counters from GET /metrics: no token in the way.
// TEST_SLOT=n gives a bench its own databases, vhost, prefix and ports, as it does the tests.
// Its CPU figures still count every process of PostgreSQL, RabbitMQ and Redis: run it alone.
const SLOT = Number(process.env.TEST_SLOT ?? 0);
const NAME = SLOT ? `bench_${SLOT}` : "bench";
const benchEnv: Record<string, string> = {
	...isolatedEnv(NAME, 18800 + SLOT * 10),
	RATE_LIMIT_PER_USER_PER_S: "0",
	METRICS_TOKEN: "",
};
const LIMITS_NOTE =
	"rate limit off in the bench's cluster (RATE_LIMIT_PER_USER_PER_S=0) for its hot-account run";
const REPORT_ONLY_BANNER =
	"*** --report-only: targets and checks are reported but do not set the exit code ***";

// ---------- the cluster ----------

/**
 * The commit the cluster is built from, and whether the working tree differed from it (tracked
 * files): the build is made from the tree as it is when the bench starts, so a run made while a
 * change sat uncommitted measured that change, whatever HEAD says.
 */
function buildIdentity(): string {
	const git = (...a: string[]) => spawnSync("git", a, { cwd: projectRoot, encoding: "utf8" });
	const head = git("rev-parse", "--short", "HEAD");
	if (head.status !== 0) return "unknown (not a git checkout)";
	const dirty = git("status", "--porcelain", "--untracked-files=no").stdout.trim() !== "";
	return `${head.stdout.trim()}${dirty ? " with uncommitted changes" : ""}`;
}

async function startCluster(args: Args): Promise<ChildProcess> {
	buildServer();
	resetIsolated(NAME);
	const topology = {
		GATEWAY_NODES: "1",
		ORDERS_NODES: String(args.ordersNodes),
		PAYMENTS_NODES: String(args.paymentsNodes),
	};
	const child = spawn(process.execPath, [join(projectRoot, "dist", "scripts", "start.js")], {
		env: { ...process.env, ...benchEnv, ...topology },
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

// ---------- main ----------

async function main() {
	const args = parseArgs(process.argv.slice(2));
	clearLatest();
	if (args.reportOnly) console.log(REPORT_ONLY_BANNER);
	// The machine's ceiling first, on a quiet machine.
	let pg: { tps: number } | { error: string } | undefined;
	if (args.pgbench) {
		console.log(`${PGBENCH}…`);
		pg = pgbenchTps(SLOT ? `gozon_pgbench_${SLOT}` : "gozon_pgbench");
		if ("error" in pg) console.error(`pgbench failed: ${pg.error}`);
	}
	const pgTps = pg && "tps" in pg ? pg.tps : undefined;

	console.log(
		args.url
			? `--url: ${args.url} applies its own rate limit; the hot-account run may meet 429s`
			: LIMITS_NOTE,
	);
	const build = args.url ? "not ours (--url)" : buildIdentity();
	const overrides = args.url ? {} : environmentOverrides(process.env, benchEnv);
	const cluster = args.url ? undefined : await startCluster(args);
	const base = args.url ?? `http://127.0.0.1:${benchEnv.API_PORT}`;
	const probe = args.url ? undefined : new BatchingProbe(base, benchEnv);
	let measured: Awaited<ReturnType<typeof measure>>;
	let invariants: Check;
	let stages: Awaited<ReturnType<typeof stageLatencies>> = [];
	try {
		await probe?.prepare();
		measured = await measure(args, base, pgTps, cluster?.pid, probe);
		const runs = measured.planned;
		if (args.url)
			invariants = invariantsNotChecked("--url: the bench databases are not the cluster's");
		else
			({ invariants, stages } = await withBenchDatabases(benchEnv, async db => ({
				invariants: args.invariants
					? await invariantsCheck(db, runs)
					: invariantsNotChecked("--no-invariants"),
				stages: await stageLatencies(
					db,
					runs.map(p => p.run),
				),
			})));
	} finally {
		if (cluster) await stopCluster(cluster);
		await probe?.destroy();
		agent.destroy();
	}
	const { planned, idle, half } = measured;
	const results: RunResult[] = planned.map(p => p.run.result);
	const [, closed, open, low, hot] = results;
	const [, closedCpu, , lowCpu] = planned.map(p => p.cpu);
	const sum = (f: (r: RunResult) => number) => results.reduce((n, r) => n + f(r), 0);
	const placed = `over ${sum(r => r.orders)} orders placed`;
	const accepted = `over ${sum(r => r.accepted)} accepted orders`;

	const checks: Check[] = [
		countCheck(
			"every POST answered 202",
			results
				.filter(r => r.postFailed)
				.map(r => `"${r.name}": ${r.postFailed} failed ${JSON.stringify(r.postErrors)}`),
			placed,
		),
		countCheck(
			"every accepted order's final push within 60 s",
			results.filter(r => r.timedOut).map(r => `"${r.name}": ${r.timedOut} without`),
			accepted,
		),
		countCheck(
			"CANCELLED exactly as the funding implies, for INSUFFICIENT_FUNDS",
			planned.flatMap(p => checkRefusals(p.run, p.funding, p.amount)),
			`${sum(r => r.cancelled)} CANCELLED ${accepted}`,
		),
		invariants,
	];
	if (pg && "error" in pg) checks.unshift(countCheck("pgbench ran", [pg.error], ""));

	const ratioName = "end-to-end orders/s ÷ pgbench tps";
	const ratio = pgTps ? Math.round((closed.e2ePerSec / pgTps) * 1000) / 1000 : undefined;
	const latencyName = (p: string) => `half-rate ${p} ms`;
	// The latency targets hold at the target half rate or above, never at an easier one.
	const latencyNote =
		half.targetRate === undefined
			? `target rate unknown: pgbench ${args.pgbench ? "failed" : "skipped"}; run at ${half.rate}/s (${half.rateBasis})`
			: half.rate < half.targetRate
				? `run at ${half.rate}/s (--rate), below the target half rate ${half.targetRate}/s`
				: undefined;
	const latencyTarget = (p: "p50" | "p99", limit: number) =>
		latencyNote
			? notMeasured(latencyName(p), "<=", limit, `${latencyNote}; measured ${open.latencyMs[p]}`)
			: target(latencyName(p), open.latencyMs[p], "<=", limit, `at ${half.rate}/s`);
	const targets: Target[] = [
		ratio === undefined
			? notMeasured(ratioName, ">=", 0.25, args.pgbench ? "pgbench failed" : "--skip-pgbench")
			: target(ratioName, ratio, ">=", 0.25, `${closed.e2ePerSec} ÷ ${pgTps!.toFixed(0)}`),
		latencyTarget("p50", 30),
		latencyTarget("p99", 150),
		target(
			"hot account ÷ spread orders/s",
			closed.e2ePerSec > 0 ? Math.round((hot.e2ePerSec / closed.e2ePerSec) * 100) / 100 : undefined,
			">=",
			0.5,
			closed.e2ePerSec > 0
				? `${hot.e2ePerSec} ÷ ${closed.e2ePerSec}`
				: "the spread run completed no order",
		),
		cpuTarget("server CPU ms per order at saturation", closedCpu, 3.0, `"${closed.name}"`),
		cpuTarget(`server CPU ms per order at ${LOW_RATE} orders/s`, lowCpu, 8, `"${low.name}"`),
	];

	const missed = targets.filter(t => !t.met).length;
	const topology = args.url
		? `--url ${args.url}`
		: `1 gateway, ${args.ordersNodes} orders node${args.ordersNodes > 1 ? "s" : ""}, ${args.paymentsNodes} payments node${args.paymentsNodes > 1 ? "s" : ""}`;
	const failed = checks.filter(c => c.status === "failed").length;
	const wouldFail = missed > 0 || failed > 0;
	const exitCode = wouldFail && !args.reportOnly ? 1 : 0;
	const verdict = `${wouldFail ? "FAIL" : "PASS"}: ${missed} of ${targets.length} targets missed or not measured, ${failed} checks failed`;

	const machine = `${cpus().length} cores (${cpus()[0]?.model?.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
	const summary = [
		`Machine: ${machine}`,
		`Build: ${build}`,
		`Settings from the environment: ${
			Object.entries(overrides)
				.map(([k, v]) => `${k}=${v}`)
				.join(", ") || (args.url ? "not ours (--url)" : "none (the defaults)")
		}`,
		`Topology: ${topology}`,
		pgTps
			? `${PGBENCH}: ${pgTps.toFixed(0)} tps`
			: `${PGBENCH}: not measured (${args.pgbench ? "failed" : "--skip-pgbench"})`,
		`Half-rate run at ${half.rate}/s (${half.rateBasis}): target half rate 0.125 × pgbench = ${half.targetRate === undefined ? "unknown (pgbench not measured)" : `${half.targetRate}/s`}; half the measured end-to-end rate = ${half.halfMeasured}/s; generator send lag p99 ${open.sendLagMs?.p99} ms, max ${open.sendLagMs?.max} ms`,
		...targetLines(targets),
		...checkLines(checks),
		`${verdict}${args.reportOnly ? ` — ${REPORT_ONLY_BANNER}, exit 0` : `, exit ${exitCode}`}`,
	];
	const cpuRuns = planned.flatMap(p => (p.cpu ? [{ name: p.run.result.name, cpu: p.cpu }] : []));
	const cpuMd = cpuRuns.length
		? [
				"",
				"CPU ms per accepted order, by component (from /proc; everything shares the same cores):",
				"",
				cpuTable(cpuRuns),
			]
		: ["", "CPU per order: not measured (--url: the cluster's processes are not ours to read)"];
	const batchingRuns = planned.flatMap(p =>
		p.batching ? [{ name: p.run.result.name, batching: p.batching }] : [],
	);
	const batchingMd = batchingRuns.length
		? [
				"",
				"Batching per accepted order (relay rows/round and consumer batch: mean messages per transaction; see docs/benchmark.md):",
				"",
				batchingTable(batchingRuns),
			]
		: [
				"",
				"Batching figures: not measured (--url: the cluster's databases and vhost are not known)",
			];
	if (idle) cpuMd.push("", idleLine(idle, LOW_RATE));
	if (idle && lowCpu) cpuMd.push("", lowRateSplit(lowCpu, idle, LOW_RATE));
	const stagesMd = stages.length
		? [
				"",
				"Where the latency goes, per stage (from the databases' timestamps; see docs/benchmark.md):",
				"",
				stagesTable(stages),
			]
		: ["", "Latency per stage: not measured (--url: the cluster's databases are not known)"];
	const md = [
		table(results),
		...cpuMd,
		...batchingMd,
		...stagesMd,
		"",
		...summary.map(l => `- ${l}`),
	].join("\n");
	console.log(`\n${md}`);
	const date = new Date().toISOString();
	const stamp = writeResults(
		{
			date,
			machine,
			build,
			overrides,
			topology,
			args,
			reportOnly: args.reportOnly,
			verdict,
			exitCode,
			pgbenchTps: pgTps ?? null,
			...(pg && "error" in pg ? { pgbenchError: pg.error } : {}),
			halfRate: half,
			targets,
			checks,
			results,
			cpu: cpuRuns,
			idleCpuMsPerSecond: idle ?? null,
			batching: batchingRuns,
			stages,
		},
		md,
	);
	console.log(`\nWritten to bench-results/${stamp}.{json,md} and bench-results/latest.json`);
	if (args.reportOnly) console.log(REPORT_ONLY_BANNER);
	process.exit(exitCode);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
