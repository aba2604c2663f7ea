import { Transporters } from "moleculer";
import { coalesceWrites } from "./messaging/coalesce-writes";
import {
	BrokerDisconnected,
	failPending,
	RequestHold,
	type PendingRequests,
	type ReturnedMessage,
} from "./rpc-request-hold";

type AmqpOptions = ConstructorParameters<typeof Transporters.AMQP>[0] & object;

/** What we pass to Moleculer's AMQP transporter: its own options plus amqplib's socket options. */
export type RpcTransporterOptions = Exclude<AmqpOptions, string> & {
	socketOptions?: { noDelay?: boolean };
	/** How long a request may wait for RPC to come back (lib/rpc-request-hold.ts); 0: not at all. */
	holdRequestsMs?: number;
};

interface AmqpLink {
	on(event: "blocked", listener: (reason: string) => void): unknown;
	on(event: "unblocked" | "close" | "error", listener: () => void): unknown;
	once(event: "close", listener: () => void): unknown;
	removeAllListeners(event: string): unknown;
	close(): Promise<void>;
}

type Delivery = { content: Buffer };
type ConsumeCallback = (msg: Delivery | null) => void | Promise<void>;
interface AmqpChannel {
	ack(msg: Delivery): void;
	nack(msg: Delivery): void;
	sendToQueue(queue: string, content: Buffer, options?: object): boolean;
	on(event: "error", listener: () => void): unknown;
	on(event: "return", listener: (msg: ReturnedMessage) => void): unknown;
	once(event: "close", listener: () => void): unknown;
	removeAllListeners(event: string): unknown;
}
/** Moleculer's own fields of the transporter that the failover code reads and retires. */
interface AmqpState {
	connection?: AmqpLink | null;
	channel?: AmqpChannel | null;
}
interface AmqpConnect {
	connect(this: unknown, errorCallback: (err: unknown) => void): Promise<void>;
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
 * requestTimeout. A request is held instead for up to RPC_HOLD_MS (1 s: a cluster's failover, a
 * reconnect), and then refused with BrokerDisconnectedError (a 503): lib/rpc-request-hold.ts. A
 * request to a node is published `mandatory`, so one that no queue takes comes back to be held too.
 *
 * On a RabbitMQ cluster (several URLs, tried round robin by Moleculer) the RPC queues are declared
 * transient by moleculer.config.ts: a transient queue whose node dies is deleted, so it can be
 * declared again on a surviving node, where a durable one would stay unreachable until its node
 * returns. Its consumers on other nodes get basic.cancel, which Moleculer's consumer callback
 * does not expect (it reads `msg.content` of null); this transporter closes its connection then,
 * and Moleculer's reconnect declares every queue again.
 */
export class RpcTransporter extends Transporters.AMQP {
	private blockedLink: AmqpLink | null = null;
	private readonly watched = new WeakSet<object>();
	private closedOnCancel: AmqpLink | null = null;
	private reconnectDelayMs = 300;
	private readonly closedLinks = new WeakSet<object>();
	private readonly hold: RequestHold;

	constructor(opts: RpcTransporterOptions) {
		super(opts);
		this.hold = new RequestHold(
			{
				canPublish: () => this.canPublish(),
				republish: (queue, content) => this.sendRequest(queue, content),
				requestIdOf: content => this.requestIdOf(content),
				transit: () => this.transit as never,
			},
			opts.holdRequestsMs ?? 0,
		);
	}

	/** A request waits (RequestHold) while RPC is reconnecting, where Moleculer would refuse it. */
	prepublish(packet: { type: string }): Promise<void> {
		const publish = () => super.prepublish(packet as never) as Promise<void>;
		if (packet.type !== "REQ" || !this.hold.holdMs || this.canPublish()) return publish();
		return this.hold.untilPublishable(() => !!this.transit?.disconnecting).then(publish);
	}

	/** Publishes a request to its node's queue, `mandatory`: the broker returns it if no queue takes it. */
	private sendRequest(queue: string, content: Buffer): boolean {
		const { channel, opts } = this as unknown as {
			channel: AmqpChannel | null;
			opts: { messageOptions?: object };
		};
		if (!channel || !this.connected) return false;
		try {
			channel.sendToQueue(queue, content, { ...opts.messageOptions, mandatory: true });
			return true;
		} catch {
			return false; // the channel began closing: the caller tries again or fails the request
		}
	}

	private requestIdOf(content: Buffer): string | undefined {
		try {
			const id = (this.deserialize("REQ", content) as { payload?: { id?: unknown } }).payload?.id;
			return typeof id === "string" ? id : undefined;
		} catch {
			return undefined;
		}
	}

	private canPublish(): boolean {
		return this.connected && !this.unavailable;
	}

	/** Whether requests are refused now, and why. */
	get unavailable(): string | null {
		const self = this as unknown as { channel?: unknown; connection?: AmqpLink | null };
		if (!self.channel) return "no channel to RabbitMQ";
		if (this.blockedLink && this.blockedLink === self.connection)
			return "RabbitMQ blocks publishes (resource alarm)";
		return null;
	}

	/**
	 * A connection lost after it was made is made again here, on the next URL, after 300 ms
	 * (doubling while it fails, up to 5 s), instead of Moleculer's fixed 5 s: every request fails
	 * while RPC has no channel, so on a cluster whose node died those seconds are all 503s. A first
	 * connection that fails is still Moleculer's to retry. (`Function`: the type Moleculer declares.)
	 *
	 * Two gaps of Moleculer's transporter (moleculer src/transporters/amqp.js) are closed on the way:
	 * - Its handlers of a connection's and a channel's "close" act on the transporter whichever
	 *   connection or channel closes: a connection left over from an earlier attempt that closes
	 *   later sets `connected` to false (from then on heartbeats, node infos and responses are
	 *   dropped unsent: base.js prepublish) and a stale channel's close sets `channel` to null. So
	 *   before every new attempt the previous connection is retired: Moleculer's listeners off,
	 *   closed. (An attempt that fails after connecting, say a queue refused while the cluster
	 *   still counts it on the dead node, leaves its connection open, and Moleculer never closes it.)
	 * - A channel the broker closes while its connection lives (a channel error) leaves the
	 *   transporter without a channel for good: Moleculer only reconnects on a connection close
	 *   (moleculer issue #692). Its connection is closed then, which reconnects.
	 */
	// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Moleculer's BaseTransporter declares connect(errorHandler: Function)
	connect(errorCallback?: Function): Promise<void> {
		const base = (Transporters.AMQP.prototype as unknown as AmqpConnect).connect;
		const attempt = (onLoss: (err: unknown) => void) =>
			base.call(this, onLoss).then(() => {
				this.reconnectDelayMs = 300;
				this.hold.recovered();
				this.watchChannel();
			});
		// The loss of a live connection (Moleculer calls back only once an attempt had succeeded).
		const lost = (err: unknown) => {
			if (!this.transit?.disconnecting) this.rejectPending();
			again(err);
		};
		const again = (err: unknown) => {
			if (this.transit?.disconnecting) return errorCallback?.(err);
			const delay = this.reconnectDelayMs;
			this.reconnectDelayMs = Math.min(delay * 2, 5000);
			this.logger.warn("RPC connection to RabbitMQ lost, connecting to the next node", {
				retryInMs: delay,
				err: (err as Error | undefined)?.message,
			});
			setTimeout(() => {
				if (this.transit?.disconnecting) return;
				this.retire();
				attempt(lost).catch(again);
			}, delay);
		};
		return attempt(lost);
	}

	/**
	 * Fails every request this node is waiting on, at once and retryable (BrokerDisconnectedError,
	 * a 503; reads are retried by their retryPolicy): their answers were to come to this node's
	 * response queue, a transient queue on the RabbitMQ node that was just lost, so none will come,
	 * and the callers would each wait out the whole requestTimeout (10 s) for nothing.
	 */
	private rejectPending(): void {
		const transit = this.transit as unknown as PendingRequests;
		const pending = transit.pendingRequests;
		if (!pending?.size) return;
		this.logger.warn("RPC connection lost: requests waiting for an answer fail now (retryable)", {
			requests: pending.size,
		});
		for (const id of [...pending.keys()]) failPending(transit, id);
	}

	/** Takes the current connection and channel out of Moleculer's hands and closes them. */
	private retire(): void {
		const self = this as unknown as AmqpState;
		const { connection, channel } = self;
		self.channel = null;
		self.connection = null;
		for (const stale of [channel, connection]) {
			if (!stale) continue;
			stale.removeAllListeners("close");
			stale.removeAllListeners("error");
			// amqplib emits "error" before "close" on a broker error: an emitter without a listener throws.
			stale.on("error", () => undefined);
		}
		if (connection && !this.closedLinks.has(connection))
			try {
				connection.close().catch(() => undefined);
			} catch {
				// closed already
			}
	}

	/** A channel closed by the broker while its connection lives: close the connection, to reconnect. */
	private watchChannel(): void {
		const self = this as unknown as AmqpState;
		const { connection, channel } = self;
		if (!connection || !channel) return;
		// Moleculer only logs a returned message; a request returned is held and sent again.
		channel.removeAllListeners("return");
		channel.on("return", msg => this.hold.onReturned(msg));
		connection.once("close", () => this.closedLinks.add(connection));
		// Checked a turn later: a lost connection closes its channels first, then itself.
		channel.once("close", () =>
			setImmediate(() => {
				if (this.transit?.disconnecting || this.closedLinks.has(connection)) return;
				if (self.connection !== connection) return;
				this.logger.warn("RPC channel closed by RabbitMQ while its connection lives; reconnecting");
				try {
					connection.close().catch(() => undefined);
				} catch {
					// closed meanwhile: its close handler reconnects
				}
			}),
		);
	}

	send(
		topic: string,
		data: Buffer,
		meta: { packet?: { type?: string; target?: string | null } },
	): Promise<void> {
		this.watchBlocked();
		if (meta?.packet?.type === "REQ") {
			const why = this.unavailable;
			if (why) return Promise.reject(new BrokerDisconnected());
			if (meta.packet.target != null && this.hold.holdMs) {
				if (this.sendRequest(topic, data) || this.transit?.disconnecting) return Promise.resolve();
				return Promise.reject(new BrokerDisconnected());
			}
		}
		try {
			return super.send(topic, data, meta);
		} catch (err) {
			if (this.transit?.disconnecting) return Promise.resolve();
			return Promise.reject(err);
		}
	}

	/**
	 * Moleculer's consumer callback, with two fixes for a connection lost and made again.
	 * Moleculer acknowledges a request once handled on whatever `this.channel` is by then: a request
	 * received before the loss and answered after the reconnect was acknowledged on the new channel
	 * with the old delivery tag, which the broker refuses by closing that channel
	 * (PRECONDITION_FAILED - unknown delivery tag), dropping RPC again, over and over (seen in
	 * `npm run chaos -- --cluster`). A request is settled on the channel it came on (the one that
	 * was current when the subscription was made), or not at all if that one has closed (the broker
	 * has requeued it with that channel). And a null message (basic.cancel) is handled.
	 */
	_consumeCB(cmd: string, needAck = false): ConsumeCallback {
		const self = this as unknown as {
			channel: AmqpChannel | null;
			receive(cmd: string, data: Buffer): unknown;
		};
		// Called as the subscription is made, on the channel that will deliver to it.
		const channel = self.channel;
		return msg => {
			if (!msg) return this.onCancelled(cmd);
			const result = self.receive(cmd, msg.content);
			if (!needAck) return result as void;
			const settle = (ok: boolean) => {
				if (!channel) return;
				try {
					if (ok) channel.ack(msg);
					else channel.nack(msg);
				} catch {
					// The channel began closing meanwhile: the broker requeues the request with it.
				}
			};
			if (typeof (result as Promise<unknown> | undefined)?.then === "function")
				return (result as Promise<unknown>).then(
					() => settle(true),
					err => {
						this.logger.error("Message handling error.", err);
						settle(false);
					},
				);
			settle(true);
		};
	}

	private onCancelled(cmd: string): void {
		const link = (this as unknown as { connection?: AmqpLink | null }).connection;
		if (!link || this.closedOnCancel === link) return;
		this.closedOnCancel = link;
		this.logger.warn(
			"RabbitMQ cancelled an RPC subscription (its queue's node is gone); reconnecting to declare the queues again",
			{ cmd },
		);
		link.close().catch(() => undefined);
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
			this.hold.recovered();
		});
		link.on("close", () => {
			if (this.blockedLink === link) this.blockedLink = null;
		});
	}
}
