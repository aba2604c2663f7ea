import { EventEmitter } from "events";
import * as amqp from "amqplib";
import type { Logger } from "moleculer";
import { redactUrl } from "../config";
import { ConnectionOptions, defaultConnectionOptions } from "./options";
import { declareQueue } from "./topology";

export class NotConnectedError extends Error {
	constructor() {
		super("Not connected to RabbitMQ");
	}
}

/**
 * One AMQP connection per node for the business queues, kept alive across broker restarts.
 * It declares the queues and opens a confirm channel on every (re)connect, then emits
 * "connected" so consumers can subscribe again; "disconnected" when the link is lost.
 */
export class AmqpConnection extends EventEmitter {
	private connection: amqp.ChannelModel | null = null;
	private confirm: amqp.ConfirmChannel | null = null;
	private stopping = false;
	private backoff: number;
	private retryTimer: NodeJS.Timeout | null = null;
	private readonly opts: ConnectionOptions;

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
		try {
			// noDelay: without it every small publish waits for the peer's delayed ACK (~40 ms).
			const conn = await amqp.connect(this.withHeartbeat(this.url), { noDelay: true });
			conn.on("error", err => this.logger.warn("RabbitMQ connection error", { err: err.message }));
			conn.on("close", () => this.onLost(conn));
			const confirm = await conn.createConfirmChannel();
			confirm.on("error", err => this.logger.warn("RabbitMQ channel error", { err: err.message }));
			for (const q of this.queues) await declareQueue(confirm, q);
			if (this.stopping) {
				await conn.close().catch(() => undefined);
				return;
			}
			this.connection = conn;
			this.confirm = confirm;
			// A closed confirm channel (e.g. a publish to a missing queue) takes the connection
			// down with it, so that the whole link is rebuilt in one place.
			confirm.on("close", () => {
				if (this.connection === conn) conn.close().catch(() => undefined);
			});
			this.backoff = this.opts.retryBackoffMs;
			this.logger.info("Connected to RabbitMQ", { url: redactUrl(this.url) });
			this.emit("connected");
		} catch (err) {
			this.logger.warn("Cannot connect to RabbitMQ, retrying", {
				url: redactUrl(this.url),
				err: (err as Error).message,
				retryInMs: this.backoff,
			});
			this.scheduleReconnect();
		}
	}

	private onLost(conn: amqp.ChannelModel): void {
		if (this.connection !== conn) return;
		this.connection = null;
		this.confirm = null;
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
