import { Errors } from "moleculer";

// Its constructor takes no arguments; Moleculer's typings say otherwise.
export const BrokerDisconnected = Errors.BrokerDisconnectedError as unknown as new () => Error;

/** A message RabbitMQ handed back (basic.return): no queue took it. */
export interface ReturnedMessage {
	content: Buffer;
	fields: { routingKey: string };
}

/** Moleculer's transit, as far as its pending requests go. */
export interface PendingRequests {
	pendingRequests?: Map<string, { reject(err: Error): void }>;
	removePendingRequest?(id: string): void;
}

/** Fails request `id` at once, retryable (BrokerDisconnectedError, a 503), if it still waits. */
export function failPending(transit: PendingRequests, id: string): void {
	const request = transit.pendingRequests?.get(id);
	if (!request) return;
	if (transit.removePendingRequest) transit.removePendingRequest(id);
	else transit.pendingRequests?.delete(id);
	request.reject(new BrokerDisconnected());
}

/** What the hold needs of the transporter it serves. */
export interface HoldHost {
	/** Whether a request can be published now (connected, a channel, not blocked). */
	canPublish(): boolean;
	/** Publishes `content` to queue `queue` again, mandatory; false if there is no channel now. */
	republish(queue: string, content: Buffer): boolean;
	/** The request id inside a serialized REQ packet, or undefined. */
	requestIdOf(content: Buffer): string | undefined;
	/** Moleculer's transit (its pending requests), once the broker has made it. */
	transit(): PendingRequests | undefined;
}

const POLL_MS = 25;
const RESEND_MS = 100;

/**
 * Requests that RabbitMQ cannot carry for a moment are held, for at most `holdMs`, instead of
 * failing at once. Two moments, both of a node of a RabbitMQ cluster lost (and of a broker that
 * restarts or raises an alarm for less than `holdMs`):
 * - the caller's own RPC connection is being made again: a new request waits until it is up
 *   (then it goes out as usual), where Moleculer would refuse it with BrokerDisconnectedError;
 * - the target node's request queue is not there yet (transient, it went with the dead node and
 *   its node has not declared it again on a survivor): the broker returns the request, which is
 *   published `mandatory`, and it is sent again every 100 ms until a queue takes it. Without
 *   `mandatory` the broker would drop it, and its caller would wait out the whole request timeout.
 *
 * Holding cannot double anything: a request that waits for the connection was never sent, and a
 * returned one reached no queue. When the hold is over the request fails as before, with
 * BrokerDisconnectedError (a 503 the client may retry), so a broker that stays down still fails
 * writes fast. Requests that were in flight on a lost connection are not held (their answers
 * were to come through it): lib/amqp-transporter.ts fails them at once.
 */
export class RequestHold {
	private readonly deadlines = new Map<string, number>();
	private downSince: number | undefined;

	constructor(
		private readonly host: HoldHost,
		readonly holdMs: number,
	) {}

	/**
	 * Resolves when a request can be published, or when the hold is over (then it fails as usual).
	 * The hold runs from the moment RPC was first seen unable, not per request: in an outage
	 * longer than the hold, requests (and a read's retries) fail at once again after its first
	 * `holdMs`, as fast as without a hold.
	 */
	async untilPublishable(isShuttingDown: () => boolean): Promise<void> {
		this.downSince ??= Date.now();
		const until = this.downSince + this.holdMs;
		while (!this.host.canPublish() && !isShuttingDown() && Date.now() < until)
			await new Promise(r => setTimeout(r, POLL_MS));
		if (this.host.canPublish()) this.recovered();
	}

	/** RPC can carry requests again (a connection made, an alarm cleared): the next loss holds anew. */
	recovered(): void {
		this.downSince = undefined;
	}

	/** A request the broker returned: sent again shortly, or failed once its hold is over. */
	onReturned(msg: ReturnedMessage): void {
		const id = this.host.requestIdOf(msg.content);
		const transit = this.host.transit();
		if (!id || !transit?.pendingRequests?.has(id)) return;
		let deadline = this.deadlines.get(id);
		if (deadline === undefined) {
			deadline = Date.now() + this.holdMs;
			this.deadlines.set(id, deadline);
			// Its hold's end is all that is kept of it, and only for as long as the hold lasts.
			setTimeout(() => this.deadlines.delete(id), this.holdMs + RESEND_MS).unref();
		}
		const resend = () => {
			if (!transit.pendingRequests?.has(id)) return;
			if (Date.now() >= deadline) failPending(transit, id);
			// No channel right now (reconnecting): try again, within the same hold.
			else if (!this.host.republish(msg.fields.routingKey, msg.content))
				setTimeout(resend, RESEND_MS).unref();
		};
		setTimeout(resend, RESEND_MS).unref();
	}
}
