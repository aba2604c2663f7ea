/**
 * `npm run bench`: end-to-end throughput and latency of the whole system, measured the way a
 * shop sees it — from `POST /api/orders` to the order's final `order.updated` push over
 * socket.io — against the machine's own ceiling (pgbench TPC-B-like, measured first in the same
 * run), then the invariants.
 *
 * It starts its own cluster (like `npm start`: separate processes, two orders nodes) in its own
 * databases, vhost, Redis prefix, namespace and ports, so a running instance is never touched;
 * or measures a running one with --url. Runs: a warm-up; 200 accounts closed loop; an open loop
 * at the target half rate, 0.125 × pgbench tps (half of the end-to-end target 0.25 × pgbench),
 * whatever the build measured; one hot account closed loop.
 *
 * Open-loop latency runs from each order's scheduled send time, so a load generator that falls
 * behind shows in the figures. Every order placed counts in the percentiles; a failed POST or a
 * push that did not come within 60 s counts as +Infinity.
 *
 * Targets: end-to-end orders/s ≥ 0.25 × pgbench tps; at the half rate p50 ≤ 30 ms and
 * p99 ≤ 150 ms; hot account ≥ 0.5 × spread. Checks: every POST answered 202; every accepted
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
 *                    [--url http://host:8000] [--no-invariants] [--skip-pgbench] [--report-only]
 */
import { ChildProcess, spawn } from "child_process";
import { join } from "path";
import knexFactory from "knex";
import { cpus, totalmem } from "os";
import { projectRoot } from "../lib/paths";
import "../lib/db/knex";
import { agent, isolatedEnv, resetIsolated, sh, sleep, waitForApi } from "./support/harness";
import { Run, RunResult, runLoad } from "./support/bench-load";
import { CpuCost, cpuCost, cpuSnapshot } from "./support/cpu-sampler";
import {
	Check,
	checkInvariants,
	checkNoDoubleDebit,
	checkRefusals,
	fundUsers,
	PGBENCH,
	pgbenchTps,
} from "./support/bench-checks";
import {
	checkLines,
	clearLatest,
	cpuTable,
	notMeasured,
	table,
	Target,
	target,
	targetLines,
	writeResults,
} from "./support/bench-report";

interface Args {
	orders: number;
	users: number;
	concurrency: number;
	rate?: number;
	url?: string;
	quick: boolean;
	invariants: boolean;
	pgbench: boolean;
	reportOnly: boolean;
}

const VALUED = ["orders", "users", "concurrency", "rate", "url"];
const FLAGS = ["quick", "no-invariants", "skip-pgbench", "report-only"];

/** Refuses unknown or malformed options: a mistyped --report-only must not pass unnoticed. */
function parseArgs(argv: string[]): Args {
	const values = new Map<string, string>();
	for (let i = 0; i < argv.length; i++) {
		const name = argv[i].replace(/^--/, "");
		if (VALUED.includes(name) && i + 1 < argv.length) values.set(name, argv[++i]);
		else if (!FLAGS.includes(name)) throw new Error(`Unknown or incomplete option: ${argv[i]}`);
	}
	const count = (name: string, fallback: number) => {
		const n = Number(values.get(name) ?? fallback);
		if (!(n > 0 && Number.isFinite(n))) throw new Error(`--${name} must be a positive number`);
		return n;
	};
	const quick = argv.includes("--quick");
	return {
		orders: Math.round(count("orders", quick ? 1500 : 6000)),
		users: Math.round(count("users", 200)),
		concurrency: Math.round(count("concurrency", 64)),
		rate: values.has("rate") ? count("rate", 0) : undefined,
		url: values.get("url"),
		quick,
		invariants: !argv.includes("--no-invariants"),
		pgbench: !argv.includes("--skip-pgbench"),
		reportOnly: argv.includes("--report-only"),
	};
}

// The hot-account run sends one user's orders as fast as the system takes them, far past the
// per-user rate limit: the cluster the bench starts runs without it (and the output says so).
const benchEnv: Record<string, string> = {
	...isolatedEnv("bench", 18800),
	RATE_LIMIT_PER_USER_PER_S: "0",
};
const LIMITS_NOTE =
	"rate limit off in the bench's cluster (RATE_LIMIT_PER_USER_PER_S=0) for its hot-account run";
const REPORT_ONLY_BANNER =
	"*** --report-only: targets and checks are reported but do not set the exit code ***";

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

// ---------- the runs ----------

/** A run, the users it placed orders for, and what each was funded with. */
interface Planned {
	run: Run;
	users: number[];
	funding: number;
	amount: number;
	/** CPU per accepted order, by component; not measured against --url. */
	cpu?: CpuCost;
}

const AMOUNT = 100;

async function measure(args: Args, base: string, pgTps: number | undefined, supervisor?: number) {
	const planned: Planned[] = [];
	const idBase = Math.floor(Date.now() / 1000) * 1000;
	const perUser = Math.ceil(args.orders / args.users);
	// Funded for ~90 % of each user's orders, so both outcomes happen and refusals are exact.
	const funding = Math.floor(perUser * 0.9) * AMOUNT;
	const place = async (
		name: string,
		users: number[],
		userFunding: number,
		amount: number,
		total: number,
		load: { concurrency: number } | { rate: number },
	) => {
		await fundUsers(base, users, userFunding);
		const before = supervisor === undefined ? undefined : cpuSnapshot(supervisor);
		const run = await runLoad(base, name, users, () => amount, total, load);
		const cpu = before && cpuCost(before, cpuSnapshot(supervisor), run.result.accepted);
		planned.push({ run, users, funding: userFunding, amount, cpu });
		console.log(table([run.result]));
		if (cpu) console.log(cpuTable([{ name, cpu }]));
		return run.result;
	};
	const spread = (offset: number) =>
		Array.from({ length: args.users }, (_, i) => idBase + offset + i + 1);

	console.log("warm-up…");
	await place("warm-up", spread(0), funding, 1, Math.min(500, args.orders), {
		concurrency: args.concurrency,
	});
	const closed = await place("spread accounts", spread(100_000), funding, AMOUNT, args.orders, {
		concurrency: args.concurrency,
	});

	const targetRate = pgTps ? Math.max(1, Math.round(0.125 * pgTps)) : undefined;
	const halfMeasured = Math.max(1, Math.round(closed.e2ePerSec / 2));
	const rate = args.rate ?? targetRate ?? halfMeasured;
	const rateBasis =
		args.rate !== undefined
			? "--rate"
			: targetRate !== undefined
				? "0.125 × pgbench tps"
				: "half the measured end-to-end rate";
	const openOrders = Math.max(1, Math.min(args.orders, Math.round(rate * (args.quick ? 5 : 10))));
	console.log(
		`half-rate run at ${rate}/s (${rateBasis}); target half rate ${targetRate === undefined ? "unknown" : `${targetRate}/s`}, half the measured ${halfMeasured}/s`,
	);
	await place("spread accounts, half rate", spread(200_000), funding, AMOUNT, openOrders, { rate });

	const hotFunding = Math.floor(args.orders * 0.9) * AMOUNT;
	await place("one hot account", [idBase + 300_001], hotFunding, AMOUNT, args.orders, {
		concurrency: args.concurrency,
	});
	return { planned, half: { rate, rateBasis, targetRate, halfMeasured } };
}

async function invariantsCheck(args: Args, planned: Planned[]): Promise<Check> {
	const name = "invariants (bench databases)";
	if (args.url || !args.invariants)
		return {
			name,
			status: "not checked",
			details: [args.url ? "--url: the bench databases are not the cluster's" : "--no-invariants"],
		};
	const orders = knexFactory({ client: "pg", connection: benchEnv.ORDERS_DATABASE_URL });
	const payments = knexFactory({ client: "pg", connection: benchEnv.PAYMENTS_DATABASE_URL });
	const problems: string[] = [];
	try {
		for (const p of planned)
			problems.push(...(await checkInvariants(orders, payments, p.run, p.users, p.funding)));
		problems.push(...(await checkNoDoubleDebit(payments)));
	} finally {
		await orders.destroy();
		await payments.destroy();
	}
	return problems.length
		? {
				name,
				status: "failed",
				details: [
					...problems.slice(0, 20),
					...(problems.length > 20 ? [`… and ${problems.length - 20} more`] : []),
				],
			}
		: {
				name,
				status: "ok",
				details: [
					"every accepted order stored, final and with its pushed status; balance = funding − FINISHED orders = ledger sum, none negative; no order debited twice",
				],
			};
}

/** `covered` says what an "ok" was checked over, so an empty run does not read as a pass. */
const countCheck = (name: string, problems: string[], covered: string): Check => ({
	name,
	status: problems.length ? "failed" : "ok",
	details: problems.length ? problems : [covered],
});

// ---------- main ----------

async function main() {
	const args = parseArgs(process.argv.slice(2));
	clearLatest();
	if (args.reportOnly) console.log(REPORT_ONLY_BANNER);
	// The machine's ceiling first, on a quiet machine.
	let pg: { tps: number } | { error: string } | undefined;
	if (args.pgbench) {
		console.log(`${PGBENCH}…`);
		pg = pgbenchTps();
		if ("error" in pg) console.error(`pgbench failed: ${pg.error}`);
	}
	const pgTps = pg && "tps" in pg ? pg.tps : undefined;

	console.log(
		args.url
			? `--url: ${args.url} applies its own rate limit; the hot-account run may meet 429s`
			: LIMITS_NOTE,
	);
	const cluster = args.url ? undefined : await startCluster();
	const base = args.url ?? `http://127.0.0.1:${benchEnv.API_PORT}`;
	let measured: Awaited<ReturnType<typeof measure>>;
	let invariants: Check;
	try {
		measured = await measure(args, base, pgTps, cluster?.pid);
		invariants = await invariantsCheck(args, measured.planned);
	} finally {
		if (cluster) await stopCluster(cluster);
		agent.destroy();
	}
	const { planned, half } = measured;
	const results: RunResult[] = planned.map(p => p.run.result);
	const [, closed, open, hot] = results;
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
	];

	const missed = targets.filter(t => !t.met).length;
	const failed = checks.filter(c => c.status === "failed").length;
	const wouldFail = missed > 0 || failed > 0;
	const exitCode = wouldFail && !args.reportOnly ? 1 : 0;
	const verdict = `${wouldFail ? "FAIL" : "PASS"}: ${missed} of ${targets.length} targets missed or not measured, ${failed} checks failed`;

	const machine = `${cpus().length} cores (${cpus()[0]?.model?.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
	const summary = [
		`Machine: ${machine}`,
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
	const md = [table(results), ...cpuMd, "", ...summary.map(l => `- ${l}`)].join("\n");
	console.log(`\n${md}`);
	const date = new Date().toISOString();
	const stamp = writeResults(
		{
			date,
			machine,
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
