import { strict as assert } from "assert";
import * as amqp from "amqplib";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import {
	AmqpConnection,
	declareQueue,
	IncomingMessage,
	Publisher,
	QueueConsumer,
} from "../../lib/messaging";
import {
	CLUSTER_NODES,
	amqpPort,
	clusterUrls,
	killNode,
	nodeIndex,
	nodeName,
	nodeRuns,
	quorumQueues,
	raftStatus,
	resetVhost,
	startCluster,
	stopCluster,
} from "../../scripts/support/rabbitmq-cluster";
import { TEST_VHOST } from "../support/env";
import { eventually } from "../support/http";

const logger = new ServiceBroker({
	logger: process.env.TEST_CLUSTER_LOG ? { type: "Console", options: { level: "info" } } : false,
}).getLogger("test");
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const portOf = (url: string | null) => Number(url && new URL(url).port);

/**
 * Against the three-node cluster of scripts/rabbitmq-cluster.sh (started if down; this file is
 * skipped, with the reason printed, when it cannot start here). Its own vhost on those nodes; the
 * machine's default RabbitMQ is not involved. A node killed here is started again whatever happens.
 */
describe("AmqpConnection on a three-node RabbitMQ cluster (URL list)", function () {
	this.timeout(300_000);

	let startedHere = false;

	before(async function () {
		startedHere = !(await Promise.all(CLUSTER_NODES.map(nodeRuns))).every(Boolean);
		const reason = await startCluster();
		if (reason) {
			console.log(`      skipped: ${reason}`);
			this.skip();
		}
		await resetVhost(TEST_VHOST);
	});

	after(async () => {
		// A node killed by a failed test comes back, and rejoins; a cluster this file started stops.
		if (startedHere) await stopCluster();
		else await startCluster();
	});

	it("When the first URL does not answer, then it connects to the next one, declares a new queue with the replicas asked for and accepts an existing queue declared without them", async () => {
		// A queue as a single-node Gozon declared it (no x-quorum-initial-group-size): declaring it
		// again with that argument would be refused with PRECONDITION_FAILED.
		const legacy = `test.legacy.${Date.now()}`;
		const fresh = `test.fresh.${Date.now()}`;
		const raw = await amqp.connect(clusterUrls(TEST_VHOST, [2]));
		await declareQueue(await raw.createChannel(), legacy);
		await raw.close();

		const nobody = `amqp://guest:guest@127.0.0.1:5680/${TEST_VHOST}`; // nothing listens there
		const connection = new AmqpConnection(
			`${nobody},${clusterUrls(TEST_VHOST)}`,
			[fresh, legacy],
			logger,
			{ replicas: 2 },
		);
		try {
			await connection.start();
			await eventually(async () => connection.isConnected, "connected", 10_000);
			assert.equal(portOf(connection.url), amqpPort(1), "the first URL that answers");
			const queues = await quorumQueues(TEST_VHOST);
			const members = (name: string) => queues.find(q => q.name === name)?.members.length;
			assert.equal(members(fresh), 2, "created with x-quorum-initial-group-size 2");
			assert.equal(members(`${fresh}.dlq`), 2, "its dead-letter queue too");
			assert.equal(members(legacy), 3, "the existing queue keeps what it was created with");
		} finally {
			await connection.stop();
		}
	});

	it("When the node it is connected to is killed (kill -9), then it reconnects to the next node, its consumer resumes, no confirmed message is lost, and the restarted node rejoins and catches up", async () => {
		const queue = `test.failover.${Date.now()}`;
		const connection = new AmqpConnection(clusterUrls(TEST_VHOST), [queue], logger, {
			replicas: 3,
			retryBackoffMs: 50,
			maxBackoffMs: 500,
		});
		const publisher = new Publisher(connection, 5000);
		const received = new Set<string>();
		const consumer = new QueueConsumer(
			connection,
			publisher,
			{
				queue,
				decode: body => body,
				handle: async (batch: IncomingMessage<unknown>[]) => {
					for (const m of batch) received.add(m.messageId);
				},
			},
			logger,
			{ recoverDelayMs: 100, maxBackoffMs: 1000 },
		);
		const confirmed: string[] = [];
		let sending = true;
		const send = async () => {
			for (let n = 0; sending; n++) {
				const messageId = `m-${n}`;
				// Retried until confirmed, as the outbox relay does.
				while (sending) {
					try {
						await publisher.publish([{ queue, messageId, payload: { n } }]);
						confirmed.push(messageId);
						break;
					} catch (err) {
						logger.info("publish failed, retrying", { err: (err as Error).message });
						await sleep(100);
					}
				}
				await sleep(20);
			}
		};
		try {
			await connection.start();
			await eventually(async () => connection.isConnected, "connected", 10_000);
			await consumer.start();
			const victim = portOf(connection.url) - 5680;
			assert.equal(victim, 1, "connected to the first URL");
			const sender = send();
			await eventually(async () => received.size >= 20, "messages flowing before the kill");

			const leaderBefore = (await quorumQueues(TEST_VHOST)).find(q => q.name === queue)!.leader;
			await killNode(victim);
			const killedAt = Date.now();
			const before = confirmed.length;
			await eventually(
				async () => connection.isConnected && portOf(connection.url) === amqpPort(2),
				"reconnected to the next node (2)",
				30_000,
			);
			const reconnectS = (Date.now() - killedAt) / 1000;
			await eventually(
				async () => confirmed.length > before + 20,
				"publishes confirmed again",
				30_000,
			);
			await eventually(
				async () => confirmed.every(id => received.has(id)),
				"every confirmed message consumed after the failover",
				30_000,
				200,
			);
			const resumedS = (Date.now() - killedAt) / 1000;

			// Back: the node rejoins, and its replica has every entry committed while it was away.
			const committed = Math.max(
				...(await raftStatus(TEST_VHOST, queue)).map(m => m["Commit Index"]),
			);
			const restartedAt = Date.now();
			assert.equal(await startCluster(), null);
			const caughtUp = await eventually(
				async () => {
					const mine = (await raftStatus(TEST_VHOST, queue)).find(
						m => m["Node Name"] === nodeName(victim),
					);
					return (
						mine && mine["Raft State"] === "follower" && mine["Commit Index"] >= committed && mine
					);
				},
				"the restarted replica caught up",
				120_000,
				1000,
			);
			const back = (await quorumQueues(TEST_VHOST)).find(q => q.name === queue)!;
			assert.ok(
				back.online.includes(nodeName(victim)),
				`${nodeName(victim)} online again: ${back.online}`,
			);
			console.log(
				`      leader was ${leaderBefore} (node ${nodeIndex(leaderBefore)}); reconnected to node 2 ${reconnectS.toFixed(1)} s after the kill, ` +
					`every confirmed message consumed ${resumedS.toFixed(1)} s after it; node ${victim} rejoined and caught up ` +
					`(commit index ${caughtUp["Commit Index"]} ≥ ${committed}) ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its restart`,
			);
			sending = false;
			await sender;
			await eventually(
				async () => confirmed.every(id => received.has(id)),
				"the last messages consumed",
				20_000,
				200,
			);
		} finally {
			sending = false;
			await consumer.stop();
			await connection.stop();
		}
	});
	it("When the node every Gozon node's RPC is on is killed (kill -9), then calls to both serving nodes answer again within seconds, and only calls in flight fail", async () => {
		const config = { ...loadConfig(), transporterUrl: clusterUrls(TEST_VHOST) };
		const broker = (name: string) =>
			new ServiceBroker({
				...brokerOptions(config, name),
				nodeID: `${name}-${process.pid}`,
				cacher: undefined,
				metrics: false,
				logger: process.env.TEST_CLUSTER_LOG
					? { type: "Console", options: { level: "info", formatter: "short" } }
					: false,
			});
		const caller = broker("caller");
		const servers = [broker("server-a"), broker("server-b")];
		for (const s of servers) s.createService({ name: "echo", actions: { where: () => s.nodeID } });
		// Open loop, as clients call: a call every 20 ms, each on its own, whoever answers.
		const answered: { at: number; nodeID: string }[] = [];
		const failed: { at: number; ms: number; error: string }[] = [];
		const pending = new Set<Promise<void>>();
		let calling: NodeJS.Timeout | undefined;
		const callEvery = (ms: number) =>
			setInterval(() => {
				const at = Date.now();
				const p = caller
					.call<string, object>("echo.where", {})
					.then(
						nodeID => void answered.push({ at, nodeID }),
						err => void failed.push({ at, ms: Date.now() - at, error: (err as Error).name }),
					)
					.finally(() => pending.delete(p));
				pending.add(p);
			}, ms);
		try {
			await Promise.all([caller, ...servers].map(b => b.start()));
			await caller.waitForServices("echo", 20_000);
			calling = callEvery(20);
			await eventually(
				async () => servers.every(s => answered.some(a => a.nodeID === s.nodeID)),
				"both servers answering before the kill",
			);
			await sleep(1000);
			await killNode(1);
			const killedAt = Date.now();
			// When each serving node answered a call made after the kill.
			const back = await eventually(
				async () => {
					const first = servers.map(
						s => answered.find(a => a.at > killedAt && a.nodeID === s.nodeID)?.at,
					);
					return first.every(Boolean) && (first as number[]);
				},
				"both servers answering calls made after the kill",
				60_000,
				50,
			);
			const resumed = Math.max(...back);
			// Steady again: a few more seconds in which no call fails.
			await sleep(5000);
			clearInterval(calling);
			await Promise.all(pending);
			const during = failed.filter(f => f.at >= killedAt - 10_000);
			const late = failed.filter(f => f.at > resumed);
			// Made once the loss was known (kill -9 here: a reset socket, noticed at once): held
			// while RPC reconnects (RPC_HOLD_MS), never failed.
			const afterLoss = failed.filter(f => f.at > killedAt + 100);
			console.log(
				`      RPC answered by the two serving nodes ${back.map(t => ((t - killedAt) / 1000).toFixed(1)).join(" s and ")} s after the kill; ` +
					`${during.length} calls failed (${[...new Set(during.map(f => f.error))].join(", ") || "none"}; ` +
					`slowest ${Math.max(0, ...during.map(f => f.ms))} ms), ${afterLoss.length} of them made more than 0.1 s after the kill, ${late.length} after both answered again`,
			);
			assert.ok(resumed - killedAt < 5_000, `RPC back after ${resumed - killedAt} ms`);
			// A call whose answer was to come through the dead node fails at once (retryable), instead
			// of waiting out the 10 s request timeout.
			const slow = during.filter(f => f.ms > 2_000);
			assert.deepEqual(slow, [], "no call waits for an answer that cannot come");
			assert.deepEqual(
				late.map(f => f.error),
				[],
				"no failure once both answer",
			);
			assert.deepEqual(
				afterLoss.map(f => `${f.error} ${f.at - killedAt} ms after the kill`),
				[],
				"only calls in flight fail: one made while RPC reconnects is held",
			);
		} finally {
			clearInterval(calling);
			await Promise.all([caller, ...servers].map(b => b.stop().catch(() => undefined)));
			assert.equal(await startCluster(), null);
		}
	});
});
