/**
 * The identity part of the OpenAPI document: the security scheme of the running AUTH_MODE,
 * and the /api/auth routes (auth.mixin.ts), which need no identity.
 */
import { DEV_TOKEN_TTL_S, type DevToken } from "../../../lib/auth/dev-tokens";
import type { AuthMode } from "../../../lib/config";
import {
	DevTokensOffError,
	type PublicError,
	toPublicError,
	InvalidTokenError,
} from "../../../lib/errors";
import { devTokenParams } from "../auth.mixin";
import { allOf, json, objectSchema, type Schema } from "./json-schema";
import { paramsToSchema } from "./rules";
const errorBody = (ref: string, name: string, value: PublicError) => ({
	content: json({ $ref: ref }, { examples: { [name]: { summary: name, value } } }),
});

/** The 401 of jwt mode, as the gateway sends it. */
export const tokenErrorExample = (): PublicError =>
	toPublicError(new InvalidTokenError("Token expired"));

export function securitySchemes(userIdPattern: string): Record<string, unknown> {
	return {
		UserId: {
			type: "apiKey",
			in: "header",
			name: "X-User-ID",
			description: `AUTH_MODE=header: the caller's user id, an integer ≥ 1 (pattern \`${userIdPattern}\`). Required on every /api request.`,
		},
		Bearer: {
			type: "http",
			scheme: "bearer",
			bearerFormat: "JWT",
			description:
				'AUTH_MODE=jwt: a JWT whose `sub` is the user id and which has an `exp`. A missing or bad token is 401 UNAUTHORIZED with `WWW-Authenticate: Bearer error="invalid_token"`.',
		},
	};
}

export const securityFor = (mode: AuthMode) => [mode === "jwt" ? { Bearer: [] } : { UserId: [] }];

export function authSchemas(): Record<string, Schema> {
	return {
		AuthConfig: {
			type: "object",
			required: ["mode", "devTokens"],
			properties: {
				mode: {
					type: "string",
					enum: allOf<AuthMode>()(["header", "jwt"]),
					description: "AUTH_MODE of this gateway.",
				},
				devTokens: {
					type: "boolean",
					description: "Whether POST /api/auth/dev-token issues tokens.",
				},
			},
			example: { mode: "jwt", devTokens: true },
		},
		DevToken: objectSchema<DevToken>()({
			type: "object",
			required: ["token", "expiresAt"],
			properties: {
				token: {
					type: "string",
					description: "An HS256 JWT for the user; send it as `Authorization: Bearer <token>`.",
				},
				expiresAt: { type: "string", format: "date-time" },
			},
			example: {
				token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl",
				expiresAt: "2026-12-01T13:00:00.000Z",
			} satisfies DevToken,
		}),
	};
}

/** The paths of the /api/auth routes. */
export function authPaths(errors: {
	VALIDATION_ERROR: PublicError;
	SERVICE_UNAVAILABLE: PublicError;
}): Record<string, unknown> {
	const open = { security: [] as unknown[], tags: ["Auth"] };
	const errorRef = "#/components/schemas/Error";
	const body = paramsToSchema(devTokenParams);
	(body.properties as Record<string, Schema>).userId.description =
		"Who the token names (its `sub`).";
	return {
		"/api/auth/config": {
			get: {
				...open,
				operationId: "auth_config",
				summary: "How to sign in",
				description:
					"The gateway's AUTH_MODE and whether development tokens are on. Needs no identity, in every mode.",
				responses: {
					"200": { description: "OK.", content: json({ $ref: "#/components/schemas/AuthConfig" }) },
				},
			},
		},
		"/api/auth/dev-token": {
			post: {
				...open,
				operationId: "auth_devToken",
				summary: "A development token for any user (demo only)",
				description: `Only with AUTH_MODE=jwt, JWT_SECRET and AUTH_DEV_TOKENS=true: an HS256 token for \`userId\`, valid ${DEV_TOKEN_TTL_S / 3600} hour. Anyone who can call it can act as anyone; it is 404 when off.`,
				requestBody: { required: true, content: json(body) },
				responses: {
					"200": { description: "OK.", content: json({ $ref: "#/components/schemas/DevToken" }) },
					"404": {
						description: "Error of type NOT_FOUND (development tokens are off).",
						...errorBody(errorRef, "NOT_FOUND", toPublicError(new DevTokensOffError())),
					},
					"422": {
						description: "Error of type VALIDATION_ERROR.",
						...errorBody(errorRef, "VALIDATION_ERROR", errors.VALIDATION_ERROR),
					},
					"503": {
						description: "Error of type SERVICE_UNAVAILABLE.",
						...errorBody(errorRef, "SERVICE_UNAVAILABLE", errors.SERVICE_UNAVAILABLE),
					},
				},
			},
		},
	};
}
