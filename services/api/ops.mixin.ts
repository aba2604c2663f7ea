/**
 * The gateway's operational side: GET /openapi.json, /docs, /health/live, /health/ready and
 * /metrics. The actions live here as a mixin of the api service; `opsRoute` is the
 * moleculer-web route that exposes them (listed after /api in the gateway's routes).
 */
import { createHash, timingSafeEqual } from "crypto";
import { readFileSync } from "fs";
import type { IncomingMessage, ServerResponse } from "http";
import { join } from "path";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { ApiRouteSchema } from "moleculer-web";
import ApiGateway from "moleculer-web";
import { actionParams } from "../../lib/action-params";
import type { Config } from "../../lib/config";
import { ErrorTypes, UnauthorizedError } from "../../lib/errors";
import { PROMETHEUS_CONTENT_TYPE } from "../../lib/observability/metrics";
import { projectRoot } from "../../lib/paths";
import { scrapeCluster } from "./cluster-metrics";
import { DocsAssets, docsPage, sendAsset, sendPage } from "./docs";
import { buildOpenApi, OpenApiInput } from "./openapi";
import { checkReadiness } from "./readiness";
import { summarizeReadiness } from "./readiness-summary";

/** What the gateway passes in: its route table and header rules (api.service.ts). */
export type GatewayDescription = Pick<
	OpenApiInput,
	"api" | "successStatus" | "userIdPattern" | "idempotencyKeyPattern" | "authMode" | "authAliases"
>;

const version = (): string =>
	JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")).version;

/** The services the gateway's routes call: every one of them must be up for /health/ready. */
export const routedServices = (aliases: Record<string, string>) =>
	[...new Set(Object.values(aliases).map(a => a.split(".")[0]))].sort();

type Meta = { $statusCode?: number; $responseType?: string };

export function opsMixin(config: Config, gateway: GatewayDescription): Partial<ServiceSchema> {
	let spec: Record<string, unknown>;
	const services = routedServices(gateway.api.aliases);

	return {
		actions: {
			openapi: {
				tracing: false,
				handler: () => spec,
			},
			live: {
				tracing: false,
				handler: () => ({ status: "ok" }),
			},
			ready: {
				async handler(this: Service, ctx: Context<unknown, Meta>) {
					const report = await checkReadiness(this.broker, services, config.healthTimeoutMs);
					// Degraded (Redis down) is still ready: every call is served, from PostgreSQL.
					if (report.status === "not_ready") ctx.meta.$statusCode = 503;
					return config.healthDetails ? report : summarizeReadiness(report);
				},
			},
			metrics: {
				tracing: false,
				async handler(this: Service, ctx: Context<unknown, Meta>) {
					ctx.meta.$responseType = PROMETHEUS_CONTENT_TYPE;
					return scrapeCluster(this.broker);
				},
			},
		},

		created() {
			spec = buildOpenApi({
				...gateway,
				actions: actionParams,
				maxBalance: config.maxBalance,
				version: version(),
			});
		},
	};
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Refuses a /metrics request without `Authorization: Bearer <METRICS_TOKEN>` when a token is
 * set. Compared in constant time (over digests, so the length does not show either).
 */
export function checkMetricsToken(token: string, req: IncomingMessage): void {
	if (!token) return;
	const header = req.headers.authorization ?? "";
	const given = /^Bearer (.+)$/i.exec(header.trim())?.[1] ?? "";
	if (!timingSafeEqual(digest(given), digest(token)))
		throw new UnauthorizedError(
			"GET /metrics needs the header Authorization: Bearer <METRICS_TOKEN>",
		);
}

/** Paths of the operational routes, as moleculer-web aliases (the OpenAPI test reads the live table). */
export function opsRoute(
	config: Pick<Config, "metricsToken">,
	onError: (req: IncomingMessage, res: ServerResponse, err: unknown) => void,
): ApiRouteSchema {
	const assets = new DocsAssets();
	const page = docsPage("/openapi.json");
	type Next = (err?: unknown) => void;
	return {
		path: "",
		mappingPolicy: "restrict",
		autoAliases: false,
		bodyParsers: { json: false, urlencoded: false },
		logging: false,
		onBeforeCall(
			_ctx: Context,
			_route: unknown,
			req: IncomingMessage & { $action?: { name?: string } },
		) {
			if (req.$action?.name === "api.metrics") checkMetricsToken(config.metricsToken, req);
		},
		aliases: {
			"GET /openapi.json": "api.openapi",
			"GET /health/live": "api.live",
			"GET /health/ready": "api.ready",
			"GET /metrics": "api.metrics",
			"GET /docs"(_req: IncomingMessage, res: ServerResponse) {
				sendPage(res, page);
			},
			"GET /docs/:file"(req: IncomingMessage, res: ServerResponse, next: Next) {
				sendAsset(assets, req, res, () =>
					next(
						new ApiGateway.Errors.NotFoundError(ErrorTypes.NOT_FOUND, {
							file: (req as { $params?: { file?: string } }).$params?.file,
						}),
					),
				).catch(next);
			},
		},
		onError,
	};
}
