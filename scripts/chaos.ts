/**
 * `npm run chaos`: faults injected while orders flow, then the invariants.
 *
 * It runs its own cluster (gateway, two orders nodes, payments; separate processes) in its own
 * databases, vhost, Redis prefix, namespace and ports, and a client that keeps placing orders
 * like a careful shop front-end would: every order has an Idempotency-Key and is retried until
 * the API accepts it. Faults, each followed by recovery:
 *   kill -9 payments · kill -9 an orders node · kill -9 a relay between publish and mark-sent ·
 *   restart RabbitMQ · restart Redis · cut the business-queue connection with a TCP proxy.
 * After each: every order final within 60 s, no outbox row left unsent, balances = ledger, no
 * order debited twice, and the dead-letter queues hold only the poison messages injected.
 * RabbitMQ and Redis are started again whatever happens, and the suite stops by itself.
 *
 *   npm run chaos              full form (~300 orders/s, every fault)
 *   npm run chaos -- --short   CI form (lower rate, every fault, a few minutes)
 *   npm run chaos -- --faults kill,Redis   only the faults whose names contain these words
 */
import { ChildProcess, spawn } from "child_process";
import { randomUUID } from "crypto";
import { join } from "path";
import * as amqp from "amqplib";
import knexFactory, { Knex } from "knex";
import { projectRoot } from "../lib/paths";
import "../lib/db/knex";
import { TcpProxy } from "../test/support/tcp-proxy";
import { agent, call, isolatedEnv, resetIsolated, sh, sleep, waitForApi } from "./support/harness";

const short = process.argv.includes("--short");
const RATE = short ? 60 : 300; // orders per second offered
const USERS = short ? 20 : 100;
const FUNDING = 10_000_000; // kopecks per user: never the limit
const SETTLE_MS = 60_000;
const SUITE_TIMEOUT_MS = (short ? 8 : 20) * 60_000;

const env = isolatedEnv("chaos", 18900);
const base = `http://127.0.0.1:${env.API_PORT}`;
const proxy = new TcpProxy(5672);

// ---------- processes ----------

interface Node {
	name: string;
	role: string;
	viaProxy: boolean;
	child?: ChildProcess;
}

const nodes: Node[] = [
	{ name: "gateway", role: "gateway", viaProxy: false },
	{ name: "orders-1", role: "orders", viaProxy: true },
	{ name: "orders-2", role: "orders", viaProxy: false },
	{ name: "payments", role: "payments", viaProxy: true },
];

function launch(node: Node, extraEnv: Record<string, string> = {}) {
	const amqpUrl = node.viaProxy ? env.AMQP_URL.replace(":5672", `:${proxy.port}`) : env.AMQP_URL;
	const child = spawn(process.execPath, [join(projectRoot, "dist", "scripts", "node.js"), node.role], {
		// RPC goes straight to RabbitMQ; only the business queues of some nodes go through the proxy.
		env: { ...process.env, ...env, AMQP_URL: amqpUrl, TRANSPORTER: env.AMQP_URL, NODE_NAME: node.name, RUN_MIGRATIONS: "true", ...extraEnv },
		stdio: ["ignore", "ignore", "pipe"],
	});
	child.stderr!.on("data", d => process.env.CHAOS_VERBOSE && process.stderr.write(`[${node.name}] ${d}`));
	node.child = child;
	return child;
}

const exited = (child: ChildProcess) =>
	child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>(r => child.once("exit", () => r()));

async function kill9(node: Node) {
	const child = node.child!;
	child.kill("SIGKILL");
	await exited(child);
}

async function stopAll() {
	await Promise.all(
		nodes.map(async n => {
			if (!n.child) return;
			n.child.kill("SIGTERM");
			const t = setTimeout(() => n.child?.kill("SIGKILL"), 15_000);
			await exited(n.child);
			clearTimeout(t);
		}),
	);
}

// ---------- the services this suite may stop ----------

/** Starts whatever of PostgreSQL, RabbitMQ (node or app) and Redis is down: the README's own script. */
function ensureServices() {
	try {
		sh("bash", [join(projectRoot, "scripts", "setup-machine.sh")], 180_000);
	} catch (err) {
		console.error(`chaos: could not start the services again: ${(err as Error).message}`);
	}
}

// ---------- the load ----------

interface Placed {
	id?: string;
	placedAt: number;
	userId: number;
	key: string;
	amount: number;
}

const placed: Placed[] = [];
let loadRunning = false;
let postErrors = 0;
/** 4xx answers to valid orders: none should happen, whatever the fault. */
const refused: string[] = [];

async function placeWithRetry(userId: number, amount: number) {
	const order: Placed = { userId, key: randomUUID(), amount, placedAt: Date.now() };
	placed.push(order);
	for (let attempt = 0; ; attempt++) {
		const r = await call(base, "POST", "/api/orders", userId, { amount, description: "chaos" }, { "Idempotency-Key": order.key }).catch(() => ({ status: 0, body: undefined }));
		if (r.status === 202) {
			order.id = r.body.id;
			return;
		}
		postErrors++;
		if (r.status >= 400 && r.status < 500) {
			refused.push(`${r.status} ${JSON.stringify(r.body)}`);
			return;
		}
		await sleep(Math.min(2000, 100 * 2 ** attempt));
	}
}

async function runLoad(users: number[]) {
	loadRunning = true;
	const interval = 1000 / RATE;
	const inFlight = new Set<Promise<void>>();
	let i = 0;
	const start = Date.now();
	while (loadRunning) {
		const due = start + i * interval;
		const wait = due - Date.now();
		if (wait > 1) await sleep(wait);
		// A client that cannot get through backs off rather than piling up.
		if (inFlight.size > 500) {
			await sleep(50);
			continue;
		}
		const p = placeWithRetry(users[i % users.length], 100 + (i % 7)).finally(() => inFlight.delete(p));
		inFlight.add(p);
		i++;
	}
	await Promise.all(inFlight);
}

// ---------- checks ----------

/**
 * Orders placed before `before` (default: now) that are not final yet: NEW in the database,
 * plus those whose POST is still being retried. Orders placed later are the load going on.
 */
async function unfinished(orders: Knex, before = Date.now()): Promise<number> {
	const row = await orders("orders").where("status", "NEW").where("created_at", "<", new Date(before)).count({ n: "*" }).first();
	return Number(row?.n ?? 0) + placed.filter(p => !p.id && p.placedAt < before).length;
}

/**
 * Checks that hold at every instant, each in ONE query (one snapshot): no negative balance,
 * balance = ledger, no order debited twice, one order per Idempotency-Key. With `quiet`
 * (no load running, everything settled) also: balance = funding − finished orders, and no
 * outbox row left unsent.
 */
async function invariants(orders: Knex, payments: Knex, users: number[], quiet = false) {
	const problems: string[] = [];
	const doubled = (await payments.raw("SELECT order_id FROM account_transactions WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1")).rows.length;
	const drift = await payments.raw(
		`SELECT a.user_id, a.balance, coalesce(sum(t.amount), 0)::bigint AS ledger
		   FROM accounts a LEFT JOIN account_transactions t USING (user_id)
		  GROUP BY a.user_id, a.balance
		 HAVING a.balance < 0 OR a.balance <> coalesce(sum(t.amount), 0)`,
	);
	for (const r of drift.rows) problems.push(`user ${r.user_id}: balance ${r.balance}, ledger ${r.ledger}`);
	const orphans = await orders.raw(
		`SELECT count(*)::int AS n FROM orders o
		  WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = o.user_id AND k.response->>'id' = o.id::text)`,
	);
	if (orphans.rows[0].n) problems.push(`${orphans.rows[0].n} orders without their Idempotency-Key (a retry placed a second order)`);
	if (quiet) {
		const unsentOrders = await orders("outbox_messages").whereNull("sent_at").count({ n: "*" }).first();
		const unsentPayments = await payments("outbox_messages").whereNull("sent_at").count({ n: "*" }).first();
		if (Number(unsentOrders?.n) || Number(unsentPayments?.n)) problems.push(`outbox rows unsent: orders ${unsentOrders?.n}, payments ${unsentPayments?.n}`);
		const spent = await orders("orders").where("status", "FINISHED").groupBy("user_id").select("user_id", orders.raw("sum(amount)::bigint AS spent"));
		const spentBy = new Map(spent.map((r: any) => [Number(r.user_id), Number(r.spent)]));
		const accounts = await payments("accounts").whereIn("user_id", users).select("user_id", "balance");
		for (const a of accounts)
			if (a.balance !== FUNDING - (spentBy.get(a.user_id) ?? 0)) problems.push(`user ${a.user_id}: balance ${a.balance} ≠ funding − finished orders ${FUNDING - (spentBy.get(a.user_id) ?? 0)}`);
	}
	return { problems, doubled };
}

/** Where the orders still NEW are stuck: the trail of each through both databases. */
async function trail(orders: Knex, payments: Knex, limit = 5) {
	const stuck = await orders("orders").where("status", "NEW").orderBy("seq").limit(limit).pluck("id");
	if (!stuck.length) console.log("  (the unfinished ones are POSTs still being retried)");
	for (const id of stuck) {
		const out = await orders("outbox_messages").whereRaw("payload->>'orderId' = ?", [id]).first();
		const decision = await payments("order_payments").where({ order_id: id }).first();
		const result = await payments("outbox_messages").whereRaw("payload->>'orderId' = ?", [id]).first();
		const received = result ? await orders("inbox_messages").where({ message_id: result.message_id }).first() : undefined;
		console.log(
			`  stuck ${id}: request ${out ? `sent ${out.sent_at?.toISOString() ?? "NOT SENT"}` : "no outbox row"}; ` +
				`decision ${decision ? `${decision.status} ${decision.created_at.toISOString()}` : "none"}; ` +
				`result ${result ? `sent ${result.sent_at?.toISOString() ?? "NOT SENT"}` : "none"}; ` +
				`orders inbox ${received ? received.received_at.toISOString() : "none"}`,
		);
	}
}

async function deadLetters(): Promise<string[]> {
	const conn = await amqp.connect(env.AMQP_URL);
	try {
		const ch = await conn.createChannel();
		const ids: string[] = [];
		for (const q of ["orders.to_pay.dlq", "payment.results.dlq"]) {
			const { messageCount } = await ch.checkQueue(q);
			if (!messageCount) continue;
			// Look without taking: read, then close the channel unacknowledged so they stay.
			const peek = await conn.createChannel();
			for (let i = 0; i < messageCount; i++) {
				const m = await peek.get(q, { noAck: false });
				if (m) ids.push(String(m.properties.messageId));
			}
			await peek.close();
		}
		return ids;
	} finally {
		await conn.close();
	}
}

// ---------- faults ----------

const nodeNamed = (name: string) => nodes.find(n => n.name === name)!;

interface Fault {
	name: string;
	inject(): Promise<void>;
}

const faults: Fault[] = [
	{
		name: "kill -9 payments",
		async inject() {
			await kill9(nodeNamed("payments"));
			await sleep(2000);
			launch(nodeNamed("payments"));
		},
	},
	{
		name: "kill -9 an orders node",
		async inject() {
			await kill9(nodeNamed("orders-2"));
			await sleep(2000);
			launch(nodeNamed("orders-2"));
		},
	},
	{
		name: "kill -9 a relay between publish and mark-sent",
		async inject() {
			await kill9(nodeNamed("orders-2"));
			// This node kills itself right after its first relay round has published.
			const doomed = launch(nodeNamed("orders-2"), { GOZON_FAULTS: "relay.after-publish-before-mark-sent" });
			await Promise.race([exited(doomed), sleep(30_000)]);
			if (doomed.exitCode === null && doomed.signalCode === null) throw new Error("the relay fault point was never reached");
			launch(nodeNamed("orders-2"));
		},
	},
	{
		name: "restart RabbitMQ",
		async inject() {
			sh("rabbitmqctl", ["-q", "stop_app"], 60_000);
			await sleep(3000);
			sh("rabbitmqctl", ["-q", "start_app"], 120_000);
		},
	},
	{
		name: "restart Redis",
		async inject() {
			try {
				sh("redis-cli", ["-h", "127.0.0.1", "shutdown", "nosave"], 5000);
			} catch {
				// the connection drops as it shuts down
			}
			await sleep(2000);
			ensureServices();
		},
	},
	{
		name: "cut the broker connection (TCP proxy)",
		async inject() {
			await proxy.cut();
			await sleep(5000);
			await proxy.restore();
		},
	},
];

// ---------- main ----------

async function main() {
	const guard = setTimeout(() => {
		console.error(`chaos: suite timeout (${SUITE_TIMEOUT_MS / 60000} min), stopping`);
		void finish(2);
	}, SUITE_TIMEOUT_MS);
	guard.unref();

	sh("npx", ["tsc", "-p", "tsconfig.build.json"]);
	resetIsolated("chaos");
	await proxy.start();
	for (const n of nodes) launch(n);
	await waitForApi(base);
	await sleep(2000);

	const orders = knexFactory({ client: "pg", connection: env.ORDERS_DATABASE_URL, pool: { min: 0, max: 2 } });
	const payments = knexFactory({ client: "pg", connection: env.PAYMENTS_DATABASE_URL, pool: { min: 0, max: 2 } });
	const users = Array.from({ length: USERS }, (_, i) => 5_000_000 + i);
	for (const u of users) {
		await call(base, "POST", "/api/accounts", u);
		const r = await call(base, "POST", "/api/accounts/me/top-ups", u, { amount: FUNDING });
		if (r.status !== 200) throw new Error(`funding failed: ${r.status}`);
	}

	const load = runLoad(users);
	const poison: string[] = [];
	const rows: { fault: string; inFlight: number; lost: number; doubled: number; recoverS: number; problems: string[] }[] = [];
	let failed = false;
	try {
		const only = process.argv.indexOf("--faults");
		const chosen = only >= 0 ? faults.filter(f => process.argv[only + 1].split(",").some(w => f.name.includes(w))) : faults;
		for (const fault of chosen) {
			await sleep(short ? 3000 : 8000);
			// One poison message per fault: it must end in the DLQ, and nothing else may.
			const id = `poison-${poison.length + 1}`;
			poison.push(id);
			await publishPoison(id);

			const inFlight = await unfinished(orders);
			process.stdout.write(`chaos: ${fault.name}… `);
			await fault.inject();
			const t0 = Date.now();
			// Recovery: the load keeps running; wait until every order placed up to the end of the
			// fault is final.
			let left = await unfinished(orders, t0);
			while (left > 0 && Date.now() - t0 < SETTLE_MS) {
				await sleep(250);
				left = await unfinished(orders, t0);
			}
			const recoverS = Math.round((Date.now() - t0) / 100) / 10;
			const { problems, doubled } = await invariants(orders, payments, users);
			rows.push({ fault: fault.name, inFlight, lost: left, doubled, recoverS, problems });
			console.log(left ? `${left} orders not final after ${SETTLE_MS / 1000} s` : `recovered in ${recoverS} s`);
			if (left) await trail(orders, payments);
			if (left || doubled || problems.length) failed = true;
		}
	} finally {
		loadRunning = false;
		await Promise.race([load, sleep(30_000)]);
	}

	// The last orders settle, then the final account.
	const t0 = Date.now();
	while ((await unfinished(orders)) > 0 && Date.now() - t0 < SETTLE_MS) await sleep(500);
	const lostAtEnd = await unfinished(orders);
	const final = await invariants(orders, payments, users, true);
	const dead = await deadLetters();
	const unexpectedDead = dead.filter(id => !poison.includes(id));
	const missingPoison = poison.filter(id => !dead.includes(id));
	await orders.destroy();
	await payments.destroy();

	console.log("\n| fault | orders in flight | lost | doubled | time to recover (s) |\n|---|---|---|---|---|");
	for (const r of rows) console.log(`| ${r.fault} | ${r.inFlight} | ${r.lost} | ${r.doubled} | ${r.lost ? "—" : r.recoverS} |`);
	const accepted = placed.filter(p => p.id).length;
	console.log(`\nOrders placed: ${placed.length} (accepted ${accepted}; POST attempts refused or failed during faults, then retried: ${postErrors})`);
	console.log(`Not final at the end: ${lostAtEnd}. Debited twice: ${final.doubled}. Dead letters: ${dead.length} (${poison.length} poison injected; unexpected: ${unexpectedDead.length}, poison missing: ${missingPoison.length}).`);
	for (const p of [...final.problems, ...rows.flatMap(r => r.problems)]) console.log(`PROBLEM: ${p}`);
	for (const r of refused.slice(0, 5)) console.log(`PROBLEM: a valid order was refused: ${r}`);
	if (lostAtEnd || final.doubled || final.problems.length || unexpectedDead.length || missingPoison.length || refused.length) failed = true;
	console.log(failed ? "chaos: FAILED" : "chaos: every invariant held");
	await finish(failed ? 1 : 0);
}

async function publishPoison(id: string) {
	const conn = await amqp.connect(env.AMQP_URL);
	try {
		const ch = await conn.createConfirmChannel();
		ch.publish("", "orders.to_pay", Buffer.from("{poison"), { persistent: true, messageId: id });
		await ch.waitForConfirms();
	} finally {
		await conn.close();
	}
}

let finishing = false;
async function finish(code: number) {
	if (finishing) return;
	finishing = true;
	loadRunning = false;
	await stopAll().catch(() => undefined);
	await proxy.stop().catch(() => undefined);
	ensureServices();
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
