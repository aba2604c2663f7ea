import { createServer, type IncomingMessage, type Server, type ServerResponse } from "http";
import type { Context, Logger, Service, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import type { Config } from "../../lib/config";
import {
	BodyTooDeepError,
	InvalidIdempotencyKeyError,
	InvalidTokenError,
	toPublicError,
	UNAVAILABLE_RETRY_AFTER_S,
} from "../../lib/errors";
import { type RequestMeta, USER_ID_PATTERN } from "../../lib/identity";
import { GatewayLimits, rateLimitKey } from "./limits";
import { authAliases, authMixin, authRoute } from "./auth.mixin";
import { createAuthenticator } from "./authenticate";
import { opsMixin, opsRoute } from "./ops.mixin";
import { socketIoMixin } from "./socket.mixin";

/** The public routes: HTTP method and path → action. Also the list the OpenAPI test checks. */
export const apiAliases = {
	"POST /accounts": "payments.createAccount",
	"GET /accounts/me": "payments.getAccount",
	"POST /accounts/me/top-ups": "payments.topUp",
	"GET /accounts/me/transactions": "payments.listTransactions",
	"POST /orders": "orders.create",
	"GET /orders": "orders.list",
	// moleculer-web tries fixed paths before parameterised ones of the same depth, so this one
	// is never taken for an order id.
	"GET /orders/summary": "orders.summary",
	"GET /orders/:id": "orders.get",
	"POST /orders/:id/refund": "orders.refund",
} as const;

/** Success codes other than 200, with the Location of what was created or accepted. */
const successStatus: Record<string, { code: number; location: (data: { id?: string }) => string }> =
	{
		"payments.createAccount": { code: 201, location: () => "/api/accounts/me" },
		"orders.create": { code: 202, location: order => `/api/orders/${order.id}` },
		"orders.refund": { code: 202, location: order => `/api/orders/${order.id}` },
	};

/** How long a client may take to send its request headers (see createServer below). */
export const HEADERS_TIMEOUT_MS = 10_000;
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

type ApiRequest = IncomingMessage & { $action?: { name?: string } };

/** Reads the Idempotency-Key header into ctx.meta (identity comes from authenticate.ts). */
export function readIdempotencyKey(req: IncomingMessage): RequestMeta {
	const key = req.headers["idempotency-key"];
	if (key === undefined) return {};
	if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) throw new InvalidIdempotencyKeyError();
	return { idempotencyKey: key };
}

/** The path parameters of the matched alias (e.g. `id` of /orders/:id/refund), as moleculer-web decoded them. */
function pathParams(req: IncomingMessage & { $params?: unknown }): Record<string, unknown> {
	const keys = (req as { $alias?: { keys?: { name: string }[] } }).$alias?.keys ?? [];
	const params = (req.$params ?? {}) as Record<string, unknown>;
	return Object.fromEntries(keys.filter(k => k.name in params).map(k => [k.name, params[k.name]]));
}

/** Far more than any request of the API needs; deeper bodies would overflow JSON.stringify. */
const MAX_BODY_DEPTH = 32;

/** Refuses a parsed JSON body nested deeper than MAX_BODY_DEPTH (checked without recursion). */
export function checkBodyDepth(body: unknown): void {
	const stack: [unknown, number][] = [[body, 1]];
	while (stack.length) {
		const [value, depth] = stack.pop()!;
		if (!value || typeof value !== "object") continue;
		if (depth > MAX_BODY_DEPTH) throw new BodyTooDeepError(MAX_BODY_DEPTH);
		for (const child of Object.values(value)) stack.push([child, depth + 1]);
	}
}

export function sendError(
	this: { logger?: Logger },
	req: IncomingMessage,
	res: ServerResponse,
	err: unknown,
) {
	const body = toPublicError(err);
	if (body.code >= 500)
		this.logger?.error("Request failed", {
			method: req.method,
			url: req.url,
			requestId: (req as { $ctx?: { requestID?: string } }).$ctx?.requestID,
			err: (err as Error)?.message,
		});
	res.statusCode = body.code;
	// E.g. Retry-After of a 429 (RateLimitedError).
	const headers = (err as { headers?: Record<string, string> } | undefined)?.headers;
	if (headers && body.code < 500)
		for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
	// A 503 is always worth a retry; say when.
	if (body.code === 503) res.setHeader("Retry-After", String(UNAVAILABLE_RETRY_AFTER_S));
	if (err instanceof InvalidTokenError) res.setHeader("WWW-Authenticate", err.challenge);
	res.setHeader("Content-Type", "application/json; charset=utf-8");
	res.end(JSON.stringify(body));
}

/**
 * The REST gateway on API_PORT. It only translates HTTP to actions: identity (X-User-ID or a
 * verified Bearer token, per AUTH_MODE: authenticate.ts), Idempotency-Key into meta, status codes, and error bodies. No business rule
 * lives here. It also pushes order status changes over socket.io (socket.mixin.ts).
 */
export function apiService(config: Config): ServiceSchema<ApiSettingsSchema> {
	const limits = new GatewayLimits(config);
	const authenticator = createAuthenticator(config);
	const debugLogs = config.logLevel === "debug" || config.logLevel === "trace";
	return {
		name: "api",
		// socket.io push on the same server; it must come first (see socketIoMixin).
		mixins: [
			socketIoMixin(config, limits, authenticator),
			ApiGateway,
			authMixin(config),
			// /openapi.json, /docs, /health/*, /metrics (ops.mixin.ts), described from this route table.
			opsMixin(config, {
				api: { prefix: "/api", aliases: apiAliases },
				successStatus,
				userIdPattern: USER_ID_PATTERN.source,
				authMode: config.authMode,
				authAliases: { prefix: "/api/auth", aliases: authAliases },
				idempotencyKeyPattern: IDEMPOTENCY_KEY.source,
			}),
		],
		settings: {
			port: config.apiPort,
			ip: "0.0.0.0",
			cors: {
				origin: "*",
				methods: ["GET", "POST", "OPTIONS"],
				allowedHeaders: ["Content-Type", "X-User-ID", "Authorization", "Idempotency-Key"],
				maxAge: 3600,
			},
			// moleculer-web formats (and colours) the line before the logger drops it: only at debug.
			logRequest: debugLogs ? "debug" : null,
			logResponse: debugLogs ? "debug" : null,
			logRequestParams: null,
			logResponseData: null,
			routes: [
				// Before /api, whose routes all need an identity.
				authRoute(sendError, req => limits.rate!.take(rateLimitKey(undefined, req))),
				{
					path: "/api",
					aliases: { ...apiAliases },
					mappingPolicy: "restrict",
					autoAliases: false,
					bodyParsers: { json: { strict: true, limit: "16kb" }, urlencoded: false },
					async onBeforeCall(
						ctx: Context<unknown, RequestMeta>,
						_route: unknown,
						req: IncomingMessage & { body?: unknown; $params?: unknown },
					) {
						let identity: RequestMeta;
						try {
							const { userId } = await (await authenticator).fromHeaders(req.headers);
							identity = { userId, ...readIdempotencyKey(req) };
						} catch (err) {
							// Refused requests count too, against the client's address.
							await limits.rate!.take(rateLimitKey(undefined, req));
							throw err;
						}
						await limits.rate!.take(rateLimitKey(identity, req));
						Object.assign(ctx.meta, identity);
						checkBodyDepth(req.body);
						// A write takes its fields from the JSON body and the path only: a query string
						// must not override them (moleculer-web merges both by default), and the body
						// must not override the path (POST /orders/:id/refund names its order there).
						if (req.method === "POST") {
							const body =
								req.body && typeof req.body === "object" && !Array.isArray(req.body)
									? req.body
									: {};
							const path = pathParams(req);
							req.$params = { ...body, ...path };
						}
					},
					onAfterCall(
						ctx: Context<unknown, { $statusCode?: number; $location?: string }>,
						_route: unknown,
						req: ApiRequest,
						res: ServerResponse,
						data: unknown,
					) {
						const status = req.$action?.name ? successStatus[req.$action.name] : undefined;
						if (status) {
							ctx.meta.$statusCode = status.code;
							ctx.meta.$location = status.location(data as { id?: string });
							// moleculer-web writes $location only for 201 and 3xx; a 202 needs it too.
							res.setHeader("Location", ctx.meta.$location);
						}
						return data;
					},
					onError: sendError,
				},
				opsRoute(config, sendError),
			],
			onError: sendError,
		},
		methods: {
			/**
			 * moleculer-web's own, for plain HTTP, with the timeouts given where Node reads them
			 * (how often it checks them exists only as a constructor option).
			 */
			createServer(
				this: Service & {
					server?: Server;
					isHTTPS?: boolean;
					httpHandler: Parameters<typeof createServer>[1];
				},
			) {
				if (this.server) return;
				this.server = createServer(
					{
						// Slowloris: a client that sends its headers a byte at a time is cut off
						// after 10 s (Node's default is 60 s). Real clients send their few hundred
						// bytes of headers in one packet; 10 s leaves room for a very slow link.
						headersTimeout: HEADERS_TIMEOUT_MS,
						// The whole request (headers and a body of at most 16 kB) within 30 s: a
						// client that trickles its body (slow POST) holds a connection no longer. A
						// socket.io long poll is unaffected: its GET is complete once its headers are.
						requestTimeout: 30_000,
						// Node checks both timeouts this often (30 s by default, which would let a
						// slow client hold on up to 40 s instead of 10).
						connectionsCheckingInterval: 1000,
					},
					this.httpHandler,
				);
				// Longer than the usual 60 s idle timeout of load balancers and HTTP clients, so a
				// kept-alive connection is never closed by us just as a client reuses it
				// (ECONNRESET). An idle connection costs a file descriptor, no thread.
				this.server.keepAliveTimeout = 65_000;
				this.isHTTPS = false;
			},
		},
		created(this: Service) {
			limits.open(this.logger);
		},
		async started() {
			// A key that cannot be loaded stops the gateway here rather than failing every request.
			await authenticator;
			await limits.start();
		},
		async stopped() {
			await limits.stop();
		},
	};
}
