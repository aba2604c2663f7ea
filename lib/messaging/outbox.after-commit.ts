import type { Knex } from "knex";
import type { Logger } from "moleculer";
import { faultPoint } from "../faults";
import { defaultRelayOptions, RelayOptions } from "./options";
import type { OutboxRelay } from "./outbox.relay";
import { OutboxStore } from "./outbox.store";
import type { OutgoingMessage, Publisher } from "./publisher";

/**
 * Publishes the outbox rows a unit of work has just committed, straight from the messages it
 * inserted, instead of waking the relay to claim them again: no transaction, no claim, no lock.
 * The broker's confirms come first; the rows are then marked sent, those of every unit of the
 * last `markDelayMs` by one statement. Nothing is weakened: the rows stay in the outbox until
 * marked, so a process killed between publish and mark, a publish that failed or a mark that
 * was lost leaves them unsent, and the relay publishes them again (its poll takes rows older
 * than `pollGraceMs`; a failure here wakes it at once). A second copy is dropped by the
 * consumers' inbox, as for any redelivery.
 */
export class AfterCommitPublisher {
	private readonly opts: RelayOptions;
	private readonly sending = new Set<Promise<void>>();
	private toMark: string[] = [];
	private markTimer: NodeJS.Timeout | null = null;
	private marking: Promise<void> | null = null;
	private markBackoff: number;
	/** Messages published (broker-confirmed), and publishes (one per unit of work), since start. */
	published = 0;
	rounds = 0;

	constructor(
		private readonly knex: Knex,
		private readonly publisher: Publisher,
		private readonly relay: OutboxRelay,
		private readonly logger: Logger,
		opts: Partial<RelayOptions> = {},
		private readonly store = new OutboxStore(),
	) {
		this.opts = { ...defaultRelayOptions, ...opts };
		this.markBackoff = this.opts.markDelayMs;
	}

	/** Sends the committed messages in the background; while the relay is paused, leaves them to it. */
	publish(messages: OutgoingMessage[]): void {
		if (this.relay.paused !== null) {
			this.relay.wake();
			return;
		}
		const sent = this.send(messages).finally(() => this.sending.delete(sent));
		this.sending.add(sent);
	}

	private async send(messages: OutgoingMessage[]): Promise<void> {
		let returned: string[];
		try {
			returned = await this.publisher.publishAll(messages);
		} catch (err) {
			this.logger.debug("Publish after commit failed; the relay takes the rows", {
				err: (err as Error).message,
			});
			this.relay.wake();
			return;
		}
		faultPoint("relay.after-publish-before-mark-sent");
		const lost = new Set(returned);
		const sent = messages.filter(m => !lost.has(m.messageId)).map(m => m.messageId);
		this.rounds++;
		this.published += sent.length;
		this.mark(sent);
		// Unroutable rows stay unsent: the relay retries them with its backoff.
		if (returned.length) this.relay.wake();
	}

	private mark(messageIds: string[]): void {
		if (!messageIds.length) return;
		this.toMark.push(...messageIds);
		this.scheduleMarks(this.opts.markDelayMs);
	}

	private scheduleMarks(delayMs: number): void {
		if (this.markTimer || this.marking) return;
		this.markTimer = setTimeout(() => {
			this.markTimer = null;
			void this.flushMarks();
		}, delayMs);
	}

	/**
	 * Marks what has gathered, one statement at a time. A failed mark is tried again with the
	 * next; the rows stay unsent meanwhile, and a poll may publish them once more.
	 */
	private flushMarks(): Promise<void> {
		if (this.marking) return this.marking;
		this.marking = (async () => {
			while (this.toMark.length) {
				const ids = this.toMark.splice(0, 1000);
				try {
					await this.store.markSentByMessageId(this.knex, ids);
					this.markBackoff = this.opts.markDelayMs;
				} catch (err) {
					this.toMark.unshift(...ids);
					this.markBackoff = Math.min(this.markBackoff * 2, this.opts.maxBackoffMs);
					this.logger.warn("Marking published outbox rows sent failed; retrying", {
						err: (err as Error).message,
						retryInMs: this.markBackoff,
					});
					break;
				}
			}
		})().finally(() => {
			this.marking = null;
			if (this.toMark.length) this.scheduleMarks(this.markBackoff);
		});
		return this.marking;
	}

	/** Waits for the publishes under way and marks their rows. */
	async stop(): Promise<void> {
		await Promise.all([...this.sending]);
		if (this.markTimer) clearTimeout(this.markTimer);
		this.markTimer = null;
		await this.flushMarks();
	}
}
