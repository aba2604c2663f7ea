import type { Server as HttpServer } from "http";
import Redis from "ioredis";
import type { Service, ServiceSchema } from "moleculer";
import { Server, Socket } from "socket.io";
import type { Config } from "../../lib/config";
import { isUserId, OrderUpdated, orderStatusChannel, parseOrderUpdated } from "../../lib/contracts";
import { parseUserId } from "../../lib/identity";
import type { Authenticator } from "./authenticate";
import type { GatewayLimits } from "./limits";

/** setTimeout's longest delay; a token valid for longer is checked again after it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * Largest socket.io message a client may send (socket.io's default is 1 MB). Clients send
 * nothing but the handshake and pings; a bigger message closes the connection.
 */
export const MAX_SOCKET_MESSAGE_BYTES = 4096;
/** How long start-up waits for the Redis subscription before going on without it. */
const SUBSCRIBE_WAIT_MS = 2000;

export const userRoom = (userId: number) => `user:${userId}`;

/**
 * The handshake's `auth.userId`: a positive safe integer or a string of its digits, the same
 * identity rule as the X-User-ID header. Throws an Error whose message the client reads in
 * `connect_error`.
 */
export function handshakeUserId(auth: unknown): number {
	const raw = (auth as { userId?: unknown } | undefined)?.userId;
	if (raw === undefined || raw === null || raw === "")
		throw new Error("auth.userId is required: connect with { auth: { userId } }");
	if (isUserId(raw)) return raw;
	const parsed = typeof raw === "string" ? parseUserId(raw) : undefined;
	if (parsed !== undefined) return parsed;
	throw new Error(
		`auth.userId must be a positive integer, got ${JSON.stringify(raw).slice(0, 40)}`,
	);
}

/**
 * socket.io on the gateway's own HTTP server (path /socket.io): every socket joins the room
 * of its user, and every status change orders publishes on Redis goes to that room only.
 *
 * Each gateway subscribes to the channel itself and emits to its local sockets, so no
 * socket.io adapter is needed to reach a user connected to another gateway.
 *
 * A push is a notification, not the record: a change published while this gateway was cut
 * off from Redis, or while a socket was reconnecting, is lost for good. That is fine because
 * the orders database is the truth and the dashboard re-reads it on every (re)connect; so
 * nothing here buffers, replays or acknowledges events.
 *
 * The handshake's identity comes from authenticate.ts (AUTH_MODE). In jwt mode a socket is
 * disconnected when its token stops being valid, so an expired token does not keep a live
 * feed; the client reconnects with a fresh token.
 *
 * List it BEFORE ApiGateway in `mixins`: Moleculer runs the created/started hooks of later
 * mixins first, and this one needs the server moleculer-web creates in its `created`.
 */
export function socketIoMixin(
	config: Config,
	limits: GatewayLimits,
	authenticator: Promise<Authenticator>,
): Partial<ServiceSchema> {
	let io: Server;
	let subscriber: Redis;
	const channel = orderStatusChannel(config.redisPrefix);

	return {
		created(this: Service) {
			const server = (this as Service & { server?: HttpServer }).server;
			if (!server)
				throw new Error(
					"socketIoMixin needs moleculer-web's HTTP server: list it before ApiGateway",
				);
			const logger = this.logger;

			io = new Server(server, {
				path: "/socket.io",
				serveClient: false,
				maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
				// The dashboard is served from another origin (UI_PORT), and identity is a plain claim.
				cors: { origin: "*" },
			});
			io.use((socket, next) => {
				authenticator
					.then(auth => auth.fromHandshake(socket.handshake.headers, socket.handshake.auth))
					.then(identity => {
						socket.data.userId = identity.userId;
						socket.data.validUntil = identity.validUntil;
						next();
					})
					.catch((err: Error) => {
						logger.debug("Socket refused", {
							reason: err.message,
							address: socket.handshake.address,
						});
						// Only the reason goes back to the client (connect_error's message).
						next(new Error(err.message));
					});
			});
			// Last: only a known user counts against SOCKETS_PER_USER (limits/socket-cap.ts).
			io.use((socket, next) => {
				limits.sockets!.admit(socket.data.userId, socket.id).then(refused => {
					if (!refused) {
						// The transport's close covers a client gone before "connection" too.
						const release = () => limits.sockets!.release(socket.id);
						socket.conn.once("close", release);
						if (socket.conn.readyState === "closed") release();
						return next();
					}
					logger.debug("Socket refused", { reason: refused, address: socket.handshake.address });
					next(new Error(refused));
				}, next);
			});
			io.on("connection", (socket: Socket) => {
				socket.on("disconnect", () => limits.sockets!.release(socket.id));
				void socket.join(userRoom(socket.data.userId));
				if (socket.data.validUntil !== undefined) dropAtExpiry(socket, socket.data.validUntil);
				logger.debug("Socket connected", { userId: socket.data.userId, socketId: socket.id });
			});
			const dropAtExpiry = (socket: Socket, validUntil: number) => {
				const wait = validUntil - Date.now();
				const timer = setTimeout(
					() => {
						if (Date.now() < validUntil) return dropAtExpiry(socket, validUntil);
						logger.debug("Socket token expired", {
							userId: socket.data.userId,
							socketId: socket.id,
						});
						socket.disconnect(true);
					},
					Math.max(0, Math.min(wait, MAX_TIMER_MS)),
				);
				timer.unref();
				socket.once("disconnect", () => clearTimeout(timer));
			};

			// A connection of its own: a subscribed ioredis client can run no other command.
			// autoResubscribe (the default) subscribes again after every reconnect; no request
			// limit, so a subscribe issued while Redis is down waits for it instead of failing.
			subscriber = new Redis(config.redisUrl, {
				lazyConnect: true,
				maxRetriesPerRequest: null,
				autoResubscribe: true,
				// Named so an operator (or a test) can find it in CLIENT LIST.
				connectionName: `${config.redisPrefix}push`.replace(/\s/g, "_"),
			});
			let down = false;
			subscriber.on("error", err => {
				// ioredis retries forever and emits this at every failed attempt: log an outage once.
				if (!down)
					logger.warn("Redis lost: no order.updated pushes until it is back", {
						channel,
						err: err.message,
					});
				down = true;
			});
			subscriber.on("ready", () => {
				if (down) logger.info("Redis back: resubscribed to order status changes", { channel });
				down = false;
			});
			subscriber.on("message", (_channel: string, raw: string) => {
				let event: OrderUpdated;
				try {
					event = parseOrderUpdated(raw);
				} catch (err) {
					logger.warn("Malformed order status message ignored", {
						channel,
						err: (err as Error).message,
						raw: raw.slice(0, 200),
					});
					return;
				}
				io.to(userRoom(event.userId)).emit("order.updated", event);
			});
		},

		async started(this: Service) {
			const subscribed = subscriber
				.subscribe(channel)
				.then(() => this.logger.info("Relaying order status changes to sockets", { channel }));
			// Wait a little so pushes right after start are not missed, but never hold the REST
			// API back for Redis: the queued subscribe goes out once Redis answers.
			await Promise.race([
				subscribed,
				new Promise(resolve => setTimeout(resolve, SUBSCRIBE_WAIT_MS).unref()),
			]).catch(err =>
				this.logger.warn("Not subscribed to order status changes", {
					channel,
					err: (err as Error).message,
				}),
			);
		},

		async stopped() {
			// Runs before ApiGateway's stopped: open websockets would keep its server.close()
			// waiting. io.close() disconnects every socket and closes the HTTP server itself.
			await io.close();
			// Not quit(): with Redis down it would wait in the offline queue forever.
			subscriber.disconnect();
		},
	};
}
