import { Errors, Transporters } from "moleculer";
import { coalesceWrites } from "./messaging/coalesce-writes";

type AmqpOptions = ConstructorParameters<typeof Transporters.AMQP>[0] & object;

/** What we pass to Moleculer's AMQP transporter: its own options plus amqplib's socket options. */
export type RpcTransporterOptions = Exclude<AmqpOptions, string> & {
	socketOptions?: { noDelay?: boolean };
};

// Its constructor takes no arguments; Moleculer's typings say otherwise.
const BrokerDisconnected = Errors.BrokerDisconnectedError as unknown as new () => Error;

interface AmqpLink {
	on(event: "blocked", listener: (reason: string) => void): unknown;
	on(event: "unblocked" | "close", listener: () => void): unknown;
}

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
 *
 * Requests fail fast while the broker cannot carry them. Moleculer's transporter drops a send
 * without a channel (the broker is down) and writes into a connection the broker has blocked
 * (memory or disk alarm) as if all were well; either way the caller would wait out the whole
 * requestTimeout. A request is refused at once instead, with BrokerDisconnectedError (a 503).
 */
export class RpcTransporter extends Transporters.AMQP {
	private blockedLink: AmqpLink | null = null;
	private readonly watched = new WeakSet<object>();

	constructor(opts: RpcTransporterOptions) {
		super(opts);
	}

	/** Whether requests are refused now, and why. */
	get unavailable(): string | null {
		const self = this as unknown as { channel?: unknown; connection?: AmqpLink | null };
		if (!self.channel) return "no channel to RabbitMQ";
		if (this.blockedLink && this.blockedLink === self.connection)
			return "RabbitMQ blocks publishes (resource alarm)";
		return null;
	}

	send(topic: string, data: Buffer, meta: Record<string, any>): Promise<void> {
		this.watchBlocked();
		if (meta?.packet?.type === "REQ") {
			const why = this.unavailable;
			if (why) return Promise.reject(new BrokerDisconnected());
		}
		try {
			return super.send(topic, data, meta);
		} catch (err) {
			if (this.transit?.disconnecting) return Promise.resolve();
			return Promise.reject(err);
		}
	}

	/**
	 * The broker blocks a connection only once it publishes, so watching from the first send on
	 * misses nothing; each new connection (after a reconnect) is watched once.
	 */
	private watchBlocked(): void {
		const link = (this as unknown as { connection?: AmqpLink | null }).connection;
		if (!link || this.watched.has(link)) return;
		this.watched.add(link);
		coalesceWrites(link);
		link.on("blocked", () => {
			this.blockedLink = link;
		});
		link.on("unblocked", () => {
			if (this.blockedLink === link) this.blockedLink = null;
		});
		link.on("close", () => {
			if (this.blockedLink === link) this.blockedLink = null;
		});
	}
}
