import { EventEmitter } from "events";
import * as amqp from "amqplib";
import type { Logger } from "moleculer";
import { redactUrl, splitUrls } from "../config";
import { ConnectionOptions, defaultConnectionOptions } from "./options";
import { coalesceWrites } from "./coalesce-writes";
import { ClusterDeclaration, declareQueue } from "./topology";

/**
 * A one-off connection (tools, start-up checks) to the first URL of a list that answers; the
 * error of the last one when none does.
 */
export async function connectFirst(urls: string, timeoutMs = 5000): Promise<amqp.ChannelModel> {
	let last: unknown = new Error("no RabbitMQ URL given");
	for (const url of splitUrls(urls)) {
		try {
			return await amqp.connect(url, { timeout: timeoutMs });
		} catch (err) {
			last = err;
		}
	}
	throw last;
}

export class NotConnectedError extends Error {
	constructor() {
		super("Not connected to RabbitMQ");
	}
}

/**
 * One AMQP connection per node for the business queues, kept alive across broker restarts.
 * It declares the queues and opens a confirm channel on every (re)connect, then emits
 * "connected" so consumers can subscribe again; "disconnected" when the link is lost;
 * "blocked"/"unblocked" when the broker stops and resumes reading our publishes (memory or disk
 * alarm); "returned" with a message the broker could not route (published with `mandatory`).
 *
 * Given several URLs (the nodes of a RabbitMQ cluster), it connects to the first that answers
 * and, when that link is lost, tries the next one first, round robin: the queues are quorum
 * queues, replicated on every node, so any node serves them.
 */
export class AmqpConnection extends EventEmitter {
	private connection: amqp.ChannelModel | null = null;
	private confirm: amqp.ConfirmChannel | null = null;
	private stopping = false;
	private backoff: number;
	private retryTimer: NodeJS.Timeout | null = null;
	private readonly opts: ConnectionOptions;
	/** Why the broker blocks our publishes (e.g. "low on memory"), or null. */
	private blockedReason: string | null = null;
	/** Connections opened successfully since start (1 while the first one lives). */
	connects = 0;
	private readonly urls: string[];
	/** Index in `urls` of the next connection attempt. */
	private cursor = 0;
	private currentUrl: string | null = null;
	private renewing = false;
	private renewedAt = 0;

	constructor(
		urls: string | string[],
		private readonly queues: string[],
		private readonly logger: Logger,
		opts: Partial<ConnectionOptions> = {},
	) {
		super();
		this.opts = { ...defaultConnectionOptions, ...opts };
		this.backoff = this.opts.retryBackoffMs;
		this.urls = Array.isArray(urls) ? urls : splitUrls(urls);
		if (!this.urls.length) throw new Error("AmqpConnection needs at least one URL");
	}

	/** The URL of the live connection (password hidden), or null while disconnected. */
	get url(): string | null {
		return this.currentUrl && redactUrl(this.currentUrl);
	}

	get isConnected(): boolean {
		return this.confirm !== null;
	}

	/** Why the broker has blocked this connection (a resource alarm), or null when it has not. */
	get blocked(): string | null {
		return this.blockedReason;
	}

	/** The confirm channel for publishing; throws while disconnected. */
	get publishChannel(): amqp.ConfirmChannel {
		if (!this.confirm) throw new NotConnectedError();
		return this.confirm;
	}

	/** Opens a plain channel for a consumer on the current connection. */
	async createChannel(): Promise<amqp.Channel> {
		if (!this.connection) throw new NotConnectedError();
		return this.connection.createChannel();
	}

	/**
	 * Declares a business queue (and its DLQ) on `channel`; on a cluster (`replicas` set) a new
	 * queue gets that many replicas and an existing one is checked without changing it.
	 */
	declare(channel: amqp.Channel, queue: string): Promise<void> {
		const link = this.connection;
		return declareQueue(channel, queue, link ? this.clusterDeclaration(link) : undefined);
	}

	private clusterDeclaration(link: amqp.ChannelModel): ClusterDeclaration | undefined {
		if (this.opts.replicas <= 0) return undefined;
		return { replicas: this.opts.replicas, open: () => link.createChannel() };
	}

	/** Messages ready in a queue, read on a short-lived channel (a missing queue closes only it). */
	async readyCount(queue: string): Promise<number> {
		const channel = await this.createChannel();
		channel.on("error", () => undefined);
		try {
			return (await channel.checkQueue(queue)).messageCount;
		} finally {
			await channel.close().catch(() => undefined);
		}
	}

	/**
	 * One round over the URLs; when none answers it keeps retrying in the background, and emits
	 * "connected" (`isConnected` turns true) once one does.
	 */
	async start(): Promise<void> {
		this.stopping = false;
		await this.connect();
	}

	async stop(): Promise<void> {
		this.stopping = true;
		if (this.retryTimer) clearTimeout(this.retryTimer);
		const conn = this.connection;
		this.connection = null;
		this.confirm = null;
		this.currentUrl = null;
		if (conn) await conn.close().catch(() => undefined);
	}

	private withHeartbeat(raw: string): string {
		const u = new URL(raw);
		if (!u.searchParams.has("heartbeat"))
			u.searchParams.set("heartbeat", String(this.opts.heartbeatSeconds));
		return u.toString();
	}

	/** One round over the URLs, from the one after the last used; backs off when none answered. */
	private async connect(): Promise<void> {
		for (let tried = 0; tried < this.urls.length && !this.stopping; tried++) {
			const url = this.urls[this.cursor];
			this.cursor = (this.cursor + 1) % this.urls.length;
			if (await this.connectTo(url, tried + 1 === this.urls.length)) return;
		}
		this.scheduleReconnect();
	}

	/** Whether it connected (or was stopped meanwhile); `last` logs the failure as the round's. */
	private async connectTo(url: string, last: boolean): Promise<boolean> {
		let conn: amqp.ChannelModel | null = null;
		try {
			// noDelay: without it every small publish waits for the peer's delayed ACK (~40 ms).
			conn = await amqp.connect(this.withHeartbeat(url), {
				noDelay: true,
				timeout: this.opts.connectTimeoutMs,
			});
			const link = conn;
			coalesceWrites(link);
			link.on("error", err => this.logger.warn("RabbitMQ connection error", { err: err.message }));
			link.on("close", () => this.onLost(link));
			link.on("blocked", (reason: string) => this.onBlocked(link, reason));
			link.on("unblocked", () => this.onUnblocked(link));
			const confirm = await this.openConfirm(link);
			for (const q of this.queues) await declareQueue(confirm, q, this.clusterDeclaration(link));
			if (this.stopping) {
				await link.close().catch(() => undefined);
				return true;
			}
			this.connection = link;
			this.confirm = confirm;
			this.currentUrl = url;
			this.backoff = this.opts.retryBackoffMs;
			this.connects++;
			this.logger.info("Connected to RabbitMQ", { url: redactUrl(url) });
			this.emit("connected");
			return true;
		} catch (err) {
			// A connection whose channel or queue setup failed is ours to close, or it leaks: the
			// next attempt opens another one beside it.
			if (conn) await conn.close().catch(() => undefined);
			const fields = { url: redactUrl(url), err: (err as Error).message };
			if (last)
				this.logger.warn("Cannot connect to RabbitMQ, retrying", {
					...fields,
					retryInMs: this.backoff,
				});
			else this.logger.warn("Cannot connect to RabbitMQ, trying the next node", fields);
			return false;
		}
	}

	/**
	 * A confirm channel for publishing. Once it is the live one, its closing (e.g. a publish to a
	 * missing queue) takes the connection down with it, so that the whole link is rebuilt in one
	 * place.
	 */
	private async openConfirm(link: amqp.ChannelModel): Promise<amqp.ConfirmChannel> {
		const confirm = await link.createConfirmChannel();
		confirm.on("error", err => this.logger.warn("RabbitMQ channel error", { err: err.message }));
		confirm.on("return", (msg: amqp.Message) => this.emit("returned", msg));
		confirm.on("nack", () => void this.renewConfirm(link, confirm));
		confirm.on("close", () => {
			if (this.connection === link && this.confirm === confirm) link.close().catch(() => undefined);
		});
		return confirm;
	}

	/**
	 * RabbitMQ 3.10 can nack every publish of a channel that began publishing to a quorum queue
	 * while the queue had no leader (its node killed, the election under way), long after a new
	 * leader is up: test/integration/amqp-cluster.test.ts saw 30 s of nacks on one channel, while a
	 * new channel's publishes were confirmed. So a nack replaces the publishing channel, at most once
	 * a second; the publishes it refused fail, and their caller (the relay) retries them.
	 */
	private async renewConfirm(link: amqp.ChannelModel, old: amqp.ConfirmChannel): Promise<void> {
		if (this.connection !== link || this.confirm !== old || this.renewing) return;
		if (Date.now() - this.renewedAt < 1000) return;
		this.renewing = true;
		this.renewedAt = Date.now();
		try {
			const fresh = await this.openConfirm(link);
			if (this.connection !== link || this.confirm !== old) {
				await fresh.close().catch(() => undefined);
				return;
			}
			this.confirm = fresh;
			this.logger.warn("RabbitMQ refused publishes (nack): publishing on a new channel", {
				url: this.url,
			});
			await old.close().catch(() => undefined);
		} catch {
			// The link is going down with it: onLost rebuilds everything.
		} finally {
			this.renewing = false;
		}
	}

	private onBlocked(conn: amqp.ChannelModel, reason: string): void {
		if (this.connection !== conn && this.connection !== null) return;
		this.blockedReason = reason || "blocked";
		this.logger.warn("RabbitMQ blocks our publishes (resource alarm)", {
			reason: this.blockedReason,
		});
		this.emit("blocked", this.blockedReason);
	}

	private onUnblocked(conn: amqp.ChannelModel): void {
		if (this.connection !== conn && this.connection !== null) return;
		if (this.blockedReason === null) return;
		this.blockedReason = null;
		this.logger.info("RabbitMQ accepts our publishes again");
		this.emit("unblocked");
	}

	private onLost(conn: amqp.ChannelModel): void {
		if (this.connection !== conn) return;
		this.connection = null;
		this.confirm = null;
		this.currentUrl = null;
		// A new connection starts unblocked; the broker says so again if the alarm still holds.
		if (this.blockedReason !== null) {
			this.blockedReason = null;
			this.emit("unblocked");
		}
		this.emit("disconnected");
		if (this.stopping) return;
		this.logger.warn("Lost the RabbitMQ connection, reconnecting");
		this.scheduleReconnect();
	}

	private scheduleReconnect(): void {
		if (this.stopping || this.retryTimer) return;
		const delay = this.backoff;
		this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs);
		this.retryTimer = setTimeout(() => {
			this.retryTimer = null;
			void this.connect();
		}, delay);
	}
}
