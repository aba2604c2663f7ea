/**
 * The gateway's /api/auth routes, which need no identity: GET /api/auth/config says how the
 * dashboard should sign in, and POST /api/auth/dev-token is the development token issuer
 * (AUTH_DEV_TOKENS=true only; 404 otherwise).
 */
import type { IncomingMessage, ServerResponse } from "http";
import type { Context, ServiceSchema } from "moleculer";
import type { ApiRouteSchema } from "moleculer-web";
import type { Params } from "../../lib/action-params";
import { issueDevToken } from "../../lib/auth/dev-tokens";
import type { Config } from "../../lib/config";
import { DevTokensOffError } from "../../lib/errors";

/** The /api/auth routes: "METHOD /path" → action. The OpenAPI document describes them. */
export const authAliases = {
	"GET /config": "api.authConfig",
	"POST /dev-token": "api.devToken",
} as const;

export const devTokenParams: Params = {
	userId: { type: "number", integer: true, positive: true, max: Number.MAX_SAFE_INTEGER },
};

export function authMixin(config: Config): Partial<ServiceSchema> {
	return {
		actions: {
			authConfig: {
				tracing: false,
				handler: () => ({ mode: config.authMode, devTokens: config.authDevTokens }),
			},
			devToken: {
				params: devTokenParams,
				async handler(ctx: Context<{ userId: number }>) {
					if (!config.authDevTokens) throw new DevTokensOffError();
					return issueDevToken(config, ctx.params.userId);
				},
			},
		},
	};
}

/** `take` spends one of the caller's rate-limit tokens (per address: nobody is signed in here). */
export function authRoute(
	onError: (req: IncomingMessage, res: ServerResponse, err: unknown) => void,
	take: (req: IncomingMessage) => Promise<void>,
): ApiRouteSchema {
	return {
		path: "/api/auth",
		mappingPolicy: "restrict",
		autoAliases: false,
		aliases: { ...authAliases },
		bodyParsers: { json: { strict: true, limit: "1kb" }, urlencoded: false },
		async onBeforeCall(
			_ctx: Context,
			_route: unknown,
			req: IncomingMessage & { body?: unknown; $params?: unknown },
		) {
			await take(req);
			// The body only, as on /api: a query string must not stand in for it.
			if (req.method === "POST")
				req.$params =
					req.body && typeof req.body === "object" && !Array.isArray(req.body)
						? { ...req.body }
						: {};
		},
		onError,
	};
}
