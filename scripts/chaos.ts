/**
 * `npm run chaos`: faults injected while orders flow; it exits non-zero when any check fails.
 *
 * Its own cluster (gateway, two orders nodes, payments; separate processes; scripts/chaos/)
 * runs in its own databases, vhost, Redis prefix, namespace and ports. A client offers orders
 * at a fixed rate whatever the answers (open loop), each with an Idempotency-Key, retried until
 * accepted, and reads the order list and the balance at a fixed rate beside them. Faults, one
 * after the other, each with its restore step:
 *   kill -9 payments · kill -9 an orders node · kill -9 a relay between publish and mark-sent ·
 *   restart RabbitMQ · restart Redis · cut the business-queue connection with a TCP proxy ·
 *   fast-restart PostgreSQL · a consumer channel closed by the broker (consumer timeout, a
 *   payments batch held on a locked accounts table) · the broker's memory alarm (30 s; 10 s in
 *   the CI form) · kill -9 of a supervisor (scripts/start.ts) running an orders node;
 *   full form only: Redis stopped for 60 s · RabbitMQ stopped for 60 s.
 * Commands are spawned asynchronously, so the offered rate holds during every fault.
 *
 * A fault's window runs from its start to the end of its recovery (the restore step returned
 * and GET /health/ready is 200 listing exactly the nodes running now), plus GRACE_MS. Checks:
 * - every POST attempt answered 5xx or not at all is counted in each window it was in flight
 *   during; outside every window there must be none, nor any failed GET; any 4xx to these
 *   valid orders fails;
 * - each window's offered rate is ≥ 90 % of the target, and no order waits > 2 s past its due
 *   time to be sent (the load generator was not frozen);
 * - after each fault: every order first sent before the recovery is final within 60 s, looked
 *   up by the id its 202 gave (an accepted id not stored is lost); balances = ledgers, none
 *   negative, no order debited twice, one order per Idempotency-Key; and a user outside the
 *   load gets the push of a new order on an old and a new socket, and the order and list reads
 *   taken while it was NEW show the pushed status right after the push; the balance read then
 *   must be the stored one (payments' generation bump can land just after a polling relay
 *   published the result: such reads are counted and read again 600 ms later);
 * - a fault's own checks (scripts/chaos/long-faults.ts, supervisor.ts): with Redis stopped no
 *   POST or GET fails and both p99 stay under 300 ms; with the broker stopped or blocked every
 *   failed POST is a 503 within 2 s; the broker really closed the held consumer's channel;
 *   no process under the killed supervisor outlives it by 25 s, and a new one brings its node back;
 * - at the end: every POST accepted, every accepted id stored and FINISHED (funding never
 *   runs out, so one CANCELLED order fails the run), no stored order without a 202, no outbox
 *   row unsent, balance = funding − finished orders, and the dead-letter queues hold exactly
 *   the one poison message injected before each fault;
 * - PostgreSQL, RabbitMQ and Redis answer at the end (started again whatever happens), with the
 *   broker's memory watermark and consumer timeout as they were.
 *
 *   npm run chaos              full form (every fault, the long outages included; about 15 min)
 *   npm run chaos -- --short   CI form (the same rate; no 60 s outages, a 10 s alarm)
 *   npm run chaos -- --faults kill,Redis   only the faults whose names contain these words
 *   npm run chaos -- --cluster [--short]   on a three-node RabbitMQ cluster: kill -9 its nodes
 *                                          (scripts/chaos/broker-cluster.ts)
 *   npm run chaos -- --rate 100            another offered rate (orders/s; default 60)
 */
import knexFactory from "knex";
import "../lib/db/knex";
import {
	brokerClusterFaults,
	brokerClusterReport,
	finishBrokerCluster,
	prepareBrokerCluster,
} from "./chaos/broker-cluster";
import { chosenFaults, Fault, FaultContext } from "./chaos/faults";
import { pendingRestores } from "./chaos/long-faults";
import { invariants, Outcomes, publishPoison, trail } from "./chaos/checks";
import {
	base,
	ensureServices,
	launch,
	nodeNamed,
	nodes,
	proxy,
	servicesDown,
	stopAll,
	waitReady,
	env,
} from "./chaos/cluster";
import { Load } from "./chaos/load";
import { Probe } from "./chaos/probe";
import { ms, report, Row, seconds, Window } from "./chaos/report";
import { buildServer } from "./build-server";
import { agent, call, resetIsolated, sleep, waitForApi } from "./support/harness";

const short = process.argv.includes("--short");
const onCluster = process.argv.includes("--cluster");
/**
 * Orders per second offered, in both forms. The full form once offered 300, above what this
 * 2-core machine serves at all (185/s closed loop in docs/benchmark.md): every fault would have
 * measured the overload. `--rate` sets another.
 */
const RATE = rateArg() ?? 60;
/** GETs per second beside the orders (order list and balance in turn). */
const READ_RATE = 10;
const USERS = short ? 20 : 100;
const FUNDING = 10_000_000; // kopecks per user: never the limit, so no order may be CANCELLED
const SETTLE_MS = 60_000;
const SUITE_TIMEOUT_MS = (short ? 12 : 35) * 60_000;
/** Added to each fault window: a POST sent just as the cluster turned ready may still fail. */
const GRACE_MS = 1000;
const MIN_OFFERED = 0.9;
/**
 * How late an order may be sent. A fault command run synchronously froze the generator for
 * 6.3 s in a scratch run; on the shared two cores a busy event loop alone has reached 1.05 s.
 */
const MAX_LAG_MS = 2000;

let load: Load | undefined;
let probe: Probe | undefined;

async function main() {
	let chosen: Fault[];
	try {
		chosen = onCluster ? brokerClusterFaults(short) : chosenFaults(process.argv);
	} catch (err) {
		console.error(`chaos: ${(err as Error).message}`);
		process.exit(2);
	}
	if (onCluster) {
		const unable = await prepareBrokerCluster();
		// CI runs on machines that may lack it; asked for by hand, it must run.
		if (unable && short) {
			console.log(`chaos --cluster: skipped: ${unable}`);
			process.exit(0);
		}
		if (unable) throw new Error(`the RabbitMQ cluster cannot start: ${unable}`);
	}
	const guard = setTimeout(() => {
		console.error(`chaos: suite timeout (${SUITE_TIMEOUT_MS / 60000} min), stopping`);
		void finish(2);
	}, SUITE_TIMEOUT_MS);
	guard.unref();

	// Before any load: blocking here costs nothing.
	buildServer();
	if (!onCluster) resetIsolated("chaos");
	await proxy.start();
	// orders-2 only once orders-1 has created and migrated the database: two nodes creating it
	// at once can fail on pg_database's unique index (lib/db/ensure-database.ts knows 42P04 only).
	for (const n of nodes) if (n.name !== "orders-2") launch(n);
	await waitForApi(base);
	await waitReady();
	launch(nodeNamed("orders-2"));
	await waitReady();

	const orders = knexFactory({
		client: "pg",
		connection: env.ORDERS_DATABASE_URL,
		pool: { min: 0, max: 2 },
	});
	const payments = knexFactory({
		client: "pg",
		connection: env.PAYMENTS_DATABASE_URL,
		pool: { min: 0, max: 2 },
	});
	const users = Array.from({ length: USERS }, (_, i) => 5_000_000 + i);
	for (const u of [...users, 5_100_000]) {
		await call(base, "POST", "/api/accounts", u);
		const r = await call(base, "POST", "/api/accounts/me/top-ups", u, { amount: FUNDING });
		if (r.status !== 200) throw new Error(`funding failed: ${r.status}`);
	}
	probe = new Probe(5_100_000, FUNDING, payments);
	await probe.open();

	load = new Load(base, RATE, users, READ_RATE);
	const outcomes = new Outcomes(orders);
	load.start();
	const windows: Window[] = [];
	const poison: string[] = [];
	const rows: Row[] = [];
	try {
		for (const fault of chosen) {
			await sleep(short ? 3000 : 8000);
			// One poison message per fault: it must end in the DLQ, and nothing else may.
			const id = `poison-${poison.length + 1}`;
			poison.push(id);
			await publishPoison(id);

			const inFlight = (await outcomes.progress(load.placed)).notFinal;
			const cancelledBefore = outcomes.count("CANCELLED");
			process.stdout.write(`chaos: ${fault.name}… `);
			const problems: string[] = [];
			const start = Date.now();
			const ctx: FaultContext = { load, short };
			await fault
				.inject(ctx)
				.catch(err => problems.push(`restore step failed: ${(err as Error).message}`));
			const end = Date.now();
			await waitReady(SETTLE_MS).catch(err => problems.push(`cluster ${(err as Error).message}`));
			const ready = Date.now();
			const restored = !problems.length;
			windows.push({ fault: fault.name, from: start, to: ready + GRACE_MS });

			// Recovery: the load keeps running; wait until every order sent before the cluster
			// was ready again is final.
			let p = await outcomes.progress(load.placed, ready);
			while ((p.notFinal || p.missing) && Date.now() - ready < SETTLE_MS) {
				await sleep(250);
				p = await outcomes.progress(load.placed, ready);
			}
			const recovered = p.notFinal || p.missing ? undefined : Date.now();
			await sleep(Math.max(0, ready + GRACE_MS - Date.now()));
			// The POST p99 of the window: let the last orders sent in it get their answer first.
			const answered = () =>
				load!.placed.every(o => o.sentAt >= ready + GRACE_MS || o.acceptedAt || o.refused);
			for (const t = Date.now(); !answered() && Date.now() - t < SETTLE_MS;) await sleep(100);
			const stats = load.window(start, ready + GRACE_MS);
			if (stats.offered < MIN_OFFERED * RATE)
				problems.push(
					`offered ${stats.offered.toFixed(1)} orders/s in the window, under ${MIN_OFFERED} × ${RATE}`,
				);
			if (stats.maxLagMs > MAX_LAG_MS)
				problems.push(
					`an order was sent ${Math.round(stats.maxLagMs)} ms after its due time: the load generator stalled`,
				);
			if (restored && fault.check)
				problems.push(...fault.check(ctx, { from: start, to: ready + GRACE_MS }));
			if (restored) for (const q of await probe.check()) problems.push(`after the fault: ${q}`);
			const { problems: broken, doubled } = await invariants(orders, payments);
			problems.push(...broken);
			const row: Row = {
				fault: fault.name,
				inFlight,
				stats,
				notFinal: p.notFinal,
				lost: p.missing,
				cancelled: outcomes.count("CANCELLED") - cancelledBefore,
				doubled,
				readyAfterEnd: (ready - end) / 1000,
				fromStart: recovered && (recovered - start) / 1000,
				fromEnd: recovered && (recovered - end) / 1000,
				problems,
			};
			rows.push(row);
			console.log(
				recovered
					? `recovered ${seconds(row.fromStart)} s from its start, ${seconds(row.fromEnd)} s from its end`
					: `${p.notFinal} orders not final, ${p.missing} accepted and not stored, ${SETTLE_MS / 1000} s after recovery`,
			);
			console.log(
				`  window ${seconds((ready + GRACE_MS - start) / 1000)} s: offered ${stats.offered.toFixed(1)} orders/s (target ${RATE}), ` +
					`max send lag ${Math.round(stats.maxLagMs)} ms, ${stats.failures.length} POSTs failed (5xx or no answer), POST p99 ${ms(stats.postP99Ms)}, ` +
					`${stats.getFailures} GETs failed, GET p99 ${ms(stats.getP99Ms)}`,
			);
			if (ctx.note) console.log(`  ${ctx.note}`);
			for (const q of problems) console.log(`  PROBLEM: ${q}`);
			if (p.notFinal) await trail(orders, payments);
			// A service not back would make every later fault measure this one.
			if (!restored) break;
		}
	} finally {
		await load.stop(30_000);
	}

	// The last orders settle, then the final account of every order the client was given.
	const t0 = Date.now();
	let fin = await outcomes.progress(load.placed);
	while ((fin.notFinal || fin.missing) && Date.now() - t0 < SETTLE_MS) {
		await sleep(500);
		fin = await outcomes.progress(load.placed);
	}
	let failed = await report({
		orders,
		payments,
		users,
		funding: FUNDING,
		outcomes,
		rows,
		windows,
		poison,
		load,
		probe,
		rate: RATE,
		readRate: READ_RATE,
	});
	if (onCluster)
		for (const p of brokerClusterReport()) {
			console.log(`PROBLEM: ${p}`);
			failed = true;
		}
	await orders.destroy();
	await payments.destroy();
	await finish(failed || rows.length < chosen.length ? 1 : 0);
}

function rateArg(): number | undefined {
	const at = process.argv.indexOf("--rate");
	if (at < 0) return undefined;
	const rate = Number(process.argv[at + 1]);
	if (!(rate > 0 && rate <= 1000)) {
		console.error(`chaos: --rate must be a number of orders per second from 1 to 1000`);
		process.exit(2);
	}
	return rate;
}

let finishing = false;
/** Stops the cluster, starts again whatever it stopped, and exits non-zero if that failed. */
async function finish(code: number) {
	if (finishing) return;
	finishing = true;
	void load?.stop(0);
	probe?.close();
	await stopAll().catch(() => undefined);
	await pendingRestores();
	await proxy.stop().catch(() => undefined);
	if (onCluster) await finishBrokerCluster();
	await ensureServices().catch(err =>
		console.error(`chaos: could not start the services again: ${(err as Error).message}`),
	);
	const down = await servicesDown();
	if (down.length) {
		console.log(
			`PROBLEM: not running after the suite: ${down.join(", ")} (scripts/setup-machine.sh could not start them)`,
		);
		code ||= 1;
	}
	console.log(code ? `chaos: FAILED (exit ${code})` : "chaos: every check held");
	agent.destroy();
	process.exit(code);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => void finish(130));
// Whatever goes wrong, the services this suite stops are started again on the way out.
for (const ev of ["unhandledRejection", "uncaughtException"] as const)
	process.on(ev, err => {
		console.error(`chaos: ${(err as Error)?.stack ?? err}`);
		void finish(1);
	});
main().catch(async err => {
	console.error(`chaos: ${(err as Error).stack ?? err}`);
	await finish(1);
});
