/**
 * `npm run chaos -- --cluster`: the chaos suite's Gozon cluster on the three-node RabbitMQ
 * cluster of scripts/rabbitmq-cluster.sh (AMQP_URL and TRANSPORTER = the three URLs), and
 * its faults: kill -9 the node leading `orders.to_pay`, then the one leading `payment.results`,
 * then a follower; each node is started again and must rejoin and catch up. `--short` (CI)
 * kills the leader of `orders.to_pay` only, and the run is skipped, with the reason, when the
 * cluster cannot start on the machine.
 *
 * The suite's own checks (scripts/chaos.ts) judge each fault: 5xx in its window, every order
 * final, none lost or doubled, balances = ledgers. Here each kill also measures, from the kill:
 * when the queue had a new leader, when RPC answered again (a read through the gateway), when
 * the first order placed after the kill was paid (relays and consumers on the survivors); and,
 * after the restart, when the node was back in the cluster and its replicas of both business
 * queues held every entry committed while it was down.
 */
import knexFactory, { Knex } from "knex";
import { Queues } from "../../lib/messaging/topology";
import { call, dropDatabase, sleep } from "../support/harness";
import {
	clusterUrls,
	killNode,
	nodeIndex,
	nodeName,
	quorumQueues,
	raftStatus,
	resetVhost,
	startCluster,
	stopCluster,
	CLUSTER_NODES,
} from "../support/rabbitmq-cluster";
import { base, env, isolateAs } from "./cluster";
import type { Fault } from "./faults";

const NAME = "chaos_cluster";
const VHOST = `gozon_${NAME}`;
const MEASURE_TIMEOUT_MS = 60_000;

interface Row {
	fault: string;
	node: string;
	/** Seconds from the kill. */
	newLeader?: number;
	rpc?: number;
	paid?: number;
	/** Seconds from the restart. */
	rejoined?: number;
	caughtUp?: number;
}

const rows: Row[] = [];
const problems: string[] = [];
let startedHere = false;
let orders: Knex | undefined;

/**
 * Starts the RabbitMQ cluster if it is down and points the chaos cluster at it. Resolves with
 * null, or with the reason the cluster cannot run on this machine.
 */
export async function prepareBrokerCluster(): Promise<string | null> {
	const wasUp = (await quorumQueues("/").then(
		() => true,
		() => false,
	)) as boolean;
	const reason = await startCluster();
	if (reason) return reason;
	startedHere = !wasUp;
	// Its own databases, vhost (on the cluster), prefix and ports: nothing of a default run's.
	await resetVhost(VHOST);
	isolateAs(NAME, 18950, clusterUrls(VHOST));
	for (const url of [env.ORDERS_DATABASE_URL, env.PAYMENTS_DATABASE_URL])
		dropDatabase(new URL(url).pathname.slice(1));
	orders = knexFactory({
		client: "pg",
		connection: env.ORDERS_DATABASE_URL,
		pool: { min: 0, max: 1 },
	});
	return null;
}

/** Stops the RabbitMQ cluster if this run started it. */
export async function finishBrokerCluster(): Promise<void> {
	await orders?.destroy().catch(() => undefined);
	if (startedHere) await stopCluster().catch(() => undefined);
}

async function leaderOf(queue: string): Promise<number> {
	const q = (await quorumQueues(VHOST)).find(x => x.name === queue);
	if (!q?.leader) throw new Error(`${queue} has no leader on the cluster`);
	return nodeIndex(q.leader);
}

/** Seconds from `from` until `probe` holds, polling; undefined (and a problem) after the timeout. */
async function until(
	what: string,
	from: number,
	probe: () => Promise<boolean>,
	everyMs: number,
	timeoutMs = MEASURE_TIMEOUT_MS,
): Promise<number | undefined> {
	while (Date.now() - from < timeoutMs) {
		if (await probe().catch(() => false)) return (Date.now() - from) / 1000;
		await sleep(everyMs);
	}
	problems.push(`${what}: not within ${timeoutMs / 1000} s`);
	return undefined;
}

async function killAndRestart(fault: string, victim: number, led: string | null): Promise<void> {
	const row: Row = { fault, node: nodeName(victim) };
	rows.push(row);
	await killNode(victim);
	const killed = Date.now();
	const killedAt = new Date(killed).toISOString();
	[row.newLeader, row.rpc, row.paid] = await Promise.all([
		led
			? until(
					`${fault}: a new leader of ${led}`,
					killed,
					async () => {
						const q = (await quorumQueues(VHOST)).find(x => x.name === led);
						return Boolean(q?.leader) && nodeIndex(q!.leader) !== victim;
					},
					500,
				)
			: Promise.resolve(undefined),
		until(
			`${fault}: RPC answering`,
			killed,
			async () => {
				const r = await call(base, "GET", "/api/orders?limit=1", 1);
				return r.status === 200;
			},
			100,
		),
		until(
			`${fault}: an order placed after the kill paid`,
			killed,
			async () => {
				const r = await orders!("orders")
					.where("created_at", ">", killedAt)
					.whereNot("status", "NEW")
					.first("id");
				return Boolean(r);
			},
			250,
		),
	]);
	// What the node must catch up on: everything committed while it was down.
	const business = [Queues.ordersToPay, Queues.paymentResults];
	const committed = await Promise.all(
		business.map(async q => Math.max(...(await raftStatus(VHOST, q)).map(m => m["Commit Index"]))),
	);
	const restarted = Date.now();
	const reason = await startCluster();
	if (reason) {
		problems.push(`${fault}: restarting ${nodeName(victim)}: ${reason}`);
		return;
	}
	row.rejoined = (Date.now() - restarted) / 1000;
	row.caughtUp = await until(
		`${fault}: ${nodeName(victim)} caught up`,
		restarted,
		async () => {
			for (const [i, q] of business.entries()) {
				const mine = (await raftStatus(VHOST, q)).find(m => m["Node Name"] === nodeName(victim));
				if (!mine || mine["Raft State"] !== "follower" || mine["Commit Index"] < committed[i])
					return false;
			}
			return true;
		},
		1000,
		// The restart itself takes a minute on a busy two-core machine.
		3 * MEASURE_TIMEOUT_MS,
	);
}

/** The node leading neither business queue (else one not leading orders.to_pay). */
async function follower(): Promise<number> {
	const leaders = new Set([
		await leaderOf(Queues.ordersToPay),
		await leaderOf(Queues.paymentResults),
	]);
	return (
		CLUSTER_NODES.find(i => !leaders.has(i)) ?? CLUSTER_NODES.find(i => i !== [...leaders][0])!
	);
}

export function brokerClusterFaults(short: boolean): Fault[] {
	const faults: Fault[] = [
		{
			name: "kill -9 the RabbitMQ node leading orders.to_pay",
			async inject() {
				await killAndRestart(this.name, await leaderOf(Queues.ordersToPay), Queues.ordersToPay);
			},
		},
		{
			name: "kill -9 the RabbitMQ node leading payment.results",
			async inject() {
				await killAndRestart(
					this.name,
					await leaderOf(Queues.paymentResults),
					Queues.paymentResults,
				);
			},
		},
		{
			name: "kill -9 a RabbitMQ follower",
			async inject() {
				await killAndRestart(this.name, await follower(), null);
			},
		},
	];
	return short ? faults.slice(0, 1) : faults;
}

const s = (v?: number) => (v === undefined ? "—" : v.toFixed(1));

/** Prints the cluster's own table; returns its problems (a measure that never came). */
export function brokerClusterReport(): string[] {
	console.log(
		"\n| RabbitMQ node killed | node | new leader (s) | RPC answers (s) | first new order paid (s) | rejoined after restart (s) | replicas caught up (s) |",
	);
	console.log("|---|---|---|---|---|---|---|");
	for (const r of rows)
		console.log(
			`| ${r.fault.replace("kill -9 the RabbitMQ node ", "").replace("kill -9 a RabbitMQ ", "")} | ${r.node} | ${s(r.newLeader)} | ${s(r.rpc)} | ${s(r.paid)} | ${s(r.rejoined)} | ${s(r.caughtUp)} |`,
		);
	console.log(
		"(new leader, RPC, paid: seconds from the kill; rejoined, caught up: from the restart. Caught up: its replica of orders.to_pay and payment.results holds every entry committed while it was down.)",
	);
	return problems;
}
