import { strict as assert } from "assert";
import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config";
import { loadConfig } from "../../lib/config";

/** Moleculer's AMQP transporter as we configure it (moleculer.config.ts, lib/amqp-transporter.ts). */
describe("RPC transporter", () => {
	let broker: ServiceBroker;
	const unhandled: unknown[] = [];
	const onUnhandled = (reason: unknown) => unhandled.push(reason);

	before(async () => {
		process.on("unhandledRejection", onUnhandled);
		broker = new ServiceBroker({
			...brokerOptions(loadConfig(), "transporter-test"),
			logger: false,
		});
		await broker.start();
	});

	after(async () => {
		process.off("unhandledRejection", onUnhandled);
		await broker.stop().catch(() => undefined);
	});

	it("When a heartbeat is sent on a channel that is closing, then it fails as a handled error and the node lives on", async () => {
		const tx = (broker.transit as unknown as { tx: { channel: { close(): Promise<void> } } }).tx;
		const closing = tx.channel.close();
		// What the heartbeat timer does (discoverer.beat), while the channel is still closing.
		const discoverer = (
			broker.registry as unknown as { discoverer: { sendHeartbeat(): Promise<void> } }
		).discoverer;
		await Promise.resolve().then(() => discoverer.sendHeartbeat());
		await closing.catch(() => undefined);
		await new Promise(r => setImmediate(r));
		assert.deepEqual(unhandled, []);
	});
});
