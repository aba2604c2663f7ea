import { EventEmitter } from "events";
import * as amqp from "amqplib";
import type { Logger } from "moleculer";
import { redactUrl } from "../config";
import { ConnectionOptions, defaultConnectionOptions } from "./options";
import { declareQueue } from "./topology";
import { coalesceWrites } from "./coalesce-writes";

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

	constructor(
		private readonly url: string,
		private readonly queues: string[],
		private readonly logger: Logger,
		opts: Partial<ConnectionOptions> = {},
	) {
		super();
		this.opts = { ...defaultConnectionOptions, ...opts };
		this.backoff = this.opts.retryBackoffMs;
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

	/** Connects once; on failure keeps retrying in the background (see `waitConnected`). */
	async start(): Promise<void> {
		this.stopping = false;
		await this.connect();
	}

	/** Resolves when connected, or rejects after `timeoutMs`. */
	waitConnected(timeoutMs: number): Promise<void> {
		if (this.isConnected) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.off("connected", onUp);
				reject(new NotConnectedError());
			}, timeoutMs);
			const onUp = () => {
				clearTimeout(timer);
				resolve();
			};
			this.once("connected", onUp);
		});
	}

	async stop(): Promise<void> {
		this.stopping = true;
		if (this.retryTimer) clearTimeout(this.retryTimer);
		const conn = this.connection;
		this.connection = null;
		this.confirm = null;
		if (conn) await conn.close().catch(() => undefined);
	}

	private withHeartbeat(raw: string): string {
		const u = new URL(raw);
		if (!u.searchParams.has("heartbeat"))
			u.searchParams.set("heartbeat", String(this.opts.heartbeatSeconds));
		return u.toString();
	}

	private async connect(): Promise<void> {
		let conn: amqp.ChannelModel | null = null;
		try {
			// noDelay: without it every small publish waits for the peer's delayed ACK (~40 ms).
			conn = await amqp.connect(this.withHeartbeat(this.url), { noDelay: true });
			const link = conn;
			coalesceWrites(link);
			link.on("error", err => this.logger.warn("RabbitMQ connection error", { err: err.message }));
			link.on("close", () => this.onLost(link));
			link.on("blocked", (reason: string) => this.onBlocked(link, reason));
			link.on("unblocked", () => this.onUnblocked(link));
			const confirm = await link.createConfirmChannel();
			confirm.on("error", err => this.logger.warn("RabbitMQ channel error", { err: err.message }));
			confirm.on("return", (msg: amqp.Message) => this.emit("returned", msg));
			for (const q of this.queues) await declareQueue(confirm, q);
			if (this.stopping) {
				await link.close().catch(() => undefined);
				return;
			}
			this.connection = link;
			this.confirm = confirm;
			// A closed confirm channel (e.g. a publish to a missing queue) takes the connection
			// down with it, so that the whole link is rebuilt in one place.
			confirm.on("close", () => {
				if (this.connection === link) link.close().catch(() => undefined);
			});
			this.backoff = this.opts.retryBackoffMs;
			this.connects++;
			this.logger.info("Connected to RabbitMQ", { url: redactUrl(this.url) });
			this.emit("connected");
		} catch (err) {
			// A connection whose channel or queue setup failed is ours to close, or it leaks: the
			// next attempt opens another one beside it.
			if (conn) await conn.close().catch(() => undefined);
			this.logger.warn("Cannot connect to RabbitMQ, retrying", {
				url: redactUrl(this.url),
				err: (err as Error).message,
				retryInMs: this.backoff,
			});
			this.scheduleReconnect();
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
