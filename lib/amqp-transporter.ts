import { Transporters } from "moleculer";

type AmqpOptions = ConstructorParameters<typeof Transporters.AMQP>[0] & object;

/** What we pass to Moleculer's AMQP transporter: its own options plus amqplib's socket options. */
export type RpcTransporterOptions = Exclude<AmqpOptions, string> & {
	socketOptions?: { noDelay?: boolean };
};

/**
 * Moleculer's AMQP transporter (RPC between nodes), sending through a channel that may be closing.
 *
 * amqplib throws IllegalOperationError ("Channel closing") synchronously from publish/sendToQueue
 * once a channel starts to close. Moleculer 0.15 calls send() without a try, so a heartbeat sent
 * from its timer in that moment becomes an unhandled rejection, which kills the node (seen at the
 * end of `npm run bench` under 0.14, and reproduced under 0.15 by test/integration/transporter.test.ts).
 * As a rejected promise it is logged by the heartbeat and returned to the caller of a request;
 * during our own shutdown the packet is dropped quietly, as Moleculer drops the packets it would
 * send while disconnected.
 */
export class RpcTransporter extends Transporters.AMQP {
	constructor(opts: RpcTransporterOptions) {
		super(opts);
	}

	send(topic: string, data: Buffer, meta: Record<string, any>): Promise<void> {
		try {
			return super.send(topic, data, meta);
		} catch (err) {
			if (this.transit?.disconnecting) return Promise.resolve();
			return Promise.reject(err);
		}
	}
}
