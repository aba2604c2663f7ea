import { strict as assert } from "assert";
import * as amqp from "amqplib";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";

type Tx = {
	connected: boolean;
	connection: { connection: { stream: { destroy(err: Error): void } } };
};
const txOf = (broker: ServiceBroker) => (broker.transit as unknown as { tx: Tx }).tx;

/** A node of its own role, RPC_HOLD_MS as given (the rest of the config as the tests run it). */
function node(role: string, holdMs: number): ServiceBroker {
	const config = { ...loadConfig(), rpcHoldMs: holdMs };
	return new ServiceBroker({ ...brokerOptions(config, role), logger: false });
}

/**
 * Calls between nodes while RPC cannot carry them for a moment (lib/rpc-request-hold.ts): held for
 * up to RPC_HOLD_MS and then delivered once, instead of refused at once (a 503) or dropped by the
 * broker (a caller waiting out the 10 s request timeout). Each case is also run with the hold off,
 * to show what it changes. One RabbitMQ (the tests' vhost); a RabbitMQ node's loss in a cluster
 * does both things to a node at once (test/integration/amqp-cluster.test.ts, npm run chaos -- --cluster).
 */
describe("RPC calls held while RPC reconnects (RPC_HOLD_MS)", function () {
	this.timeout(60_000);
	const served: string[] = [];
	let callers = 0;
	let server: ServiceBroker;

	before(async () => {
		server = node("hold-server", 1000);
		server.createService({
			name: "holdtest",
			actions: {
				echo(ctx: { params: { n: string } }) {
					served.push(ctx.params.n);
					return ctx.params.n;
				},
			},
		});
		await server.start();
	});

	after(async () => {
		await server.stop().catch(() => undefined);
	});

	async function caller(holdMs: number): Promise<ServiceBroker> {
		// A node id of its own each time: one a stopped caller had is still known to the server.
		const broker = node(`hold-caller-${++callers}`, holdMs);
		await broker.start();
		await broker.waitForServices("holdtest", 10_000);
		return broker;
	}

	/** The caller's RPC socket fails; resolves once its transporter knows (a call now is not in flight). */
	async function dropConnection(broker: ServiceBroker): Promise<void> {
		const tx = txOf(broker);
		tx.connection.connection.stream.destroy(new Error("cut by the test"));
		while (tx.connected) await new Promise(r => setTimeout(r, 5));
	}

	async function callAfter(
		broker: ServiceBroker,
		cut: () => Promise<void> | void,
		n: string,
	): Promise<{ answer?: unknown; err?: Error; ms: number }> {
		await cut();
		const started = Date.now();
		try {
			const answer = await broker.call("holdtest.echo", { n }, { timeout: 5000 });
			return { answer, ms: Date.now() - started };
		} catch (err) {
			return { err: err as Error, ms: Date.now() - started };
		}
	}

	for (const holdMs of [1000, 0]) {
		it(
			holdMs
				? "When the caller's RPC connection drops, then a call made while it reconnects waits and is answered, once"
				: "When the hold is off (RPC_HOLD_MS=0), then the same call fails at once with BrokerDisconnectedError",
			async () => {
				const broker = await caller(holdMs);
				try {
					const n = `reconnect-${holdMs}`;
					const got = await callAfter(broker, () => dropConnection(broker), n);
					if (holdMs) {
						assert.equal(got.err, undefined, `answered: ${got.err?.message}`);
						assert.equal(got.answer, n);
						assert.ok(got.ms < holdMs, `waited ${got.ms} ms, within the hold`);
						assert.deepEqual(
							served.filter(s => s === n),
							[n],
						);
					} else {
						assert.equal(got.err?.name, "BrokerDisconnectedError");
						assert.ok(got.ms < 200, `refused at once (${got.ms} ms)`);
					}
				} finally {
					await broker.stop().catch(() => undefined);
				}
			},
		);
	}

	for (const holdMs of [1000, 0]) {
		it(
			holdMs
				? "When the target node's request queue is gone until it declares it again, then the broker returns the request, which is sent again and answered once"
				: "When the hold is off, then the broker drops that request and its caller waits out the timeout",
			async () => {
				const broker = await caller(holdMs);
				const admin = await amqp.connect(loadConfig().amqpUrl);
				try {
					const channel = await admin.createChannel();
					const queue = `MOL-${server.namespace}.REQ.${server.nodeID}`;
					const n = `returned-${holdMs}`;
					// The server's consumer is cancelled with it; its transporter reconnects and declares it again.
					const got = await callAfter(
						broker,
						() => channel.deleteQueue(queue).then(() => undefined),
						n,
					);
					if (holdMs) {
						assert.equal(got.err, undefined, `answered: ${got.err?.message}`);
						assert.equal(got.answer, n);
						assert.ok(got.ms < holdMs, `waited ${got.ms} ms, within the hold`);
					} else {
						assert.equal(got.err?.name, "RequestTimeoutError", `got ${got.err?.name}`);
					}
					assert.deepEqual(
						served.filter(s => s === n),
						holdMs ? [n] : [],
					);
				} finally {
					await admin.close().catch(() => undefined);
					await broker.stop().catch(() => undefined);
					await server.waitForServices("holdtest", 10_000);
				}
			},
		);
	}
});
