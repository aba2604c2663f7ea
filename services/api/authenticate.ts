/**
 * Who is calling, in the configured AUTH_MODE, for REST requests and socket.io handshakes.
 *
 * header: REST trusts X-User-ID (a proxy in front authenticates); a handshake takes the
 * X-User-ID header a proxy sets, else `auth.userId` (the local demo's fallback).
 * jwt: REST needs `Authorization: Bearer <token>` and ignores X-User-ID; a handshake needs
 * `auth: { token }`. Both are verified by lib/auth/token-verifier.ts.
 */
import type { IncomingHttpHeaders } from "http";
import { createTokenVerifier, type TokenVerifier } from "../../lib/auth/token-verifier";
import type { Config } from "../../lib/config";
import { InvalidTokenError, UnauthorizedError } from "../../lib/errors";
import { parseUserId } from "../../lib/identity";
import { handshakeUserId } from "./socket.mixin";

/** The caller's user id, plus when its token stops being valid (jwt mode only). */
export interface Identity {
	userId: number;
	validUntil?: number;
}

export interface Authenticator {
	mode: "header" | "jwt";
	fromHeaders(headers: IncomingHttpHeaders): Promise<Identity>;
	fromHandshake(headers: IncomingHttpHeaders, auth: unknown): Promise<Identity>;
}

/** X-User-ID as a user id; throws the header-mode 401. */
export function headerUserId(raw: unknown): number {
	const userId = typeof raw === "string" ? parseUserId(raw.trim()) : undefined;
	if (userId === undefined) throw new UnauthorizedError();
	return userId;
}

/** The token of `Authorization: Bearer <token>` ("" when there is none). */
export function bearerToken(headers: IncomingHttpHeaders): string {
	const value = headers.authorization;
	if (!value) return "";
	const match = /^Bearer +([^ ]+) *$/i.exec(value);
	if (!match) throw new InvalidTokenError("Authorization must be Bearer <token>");
	return match[1];
}

export async function createAuthenticator(config: Config): Promise<Authenticator> {
	if (config.authMode !== "jwt")
		return {
			mode: "header",
			fromHeaders: async headers => ({ userId: headerUserId(headers["x-user-id"]) }),
			fromHandshake: async (headers, auth) => {
				const proxied = headers["x-user-id"];
				if (proxied !== undefined) {
					try {
						return { userId: headerUserId(proxied) };
					} catch {
						throw new Error("Header X-User-ID must be a positive integer");
					}
				}
				return { userId: handshakeUserId(auth) };
			},
		};
	const verifier = (await createTokenVerifier(config)) as TokenVerifier;
	return {
		mode: "jwt",
		fromHeaders: headers => verifier.verify(bearerToken(headers)),
		fromHandshake: async (_headers, auth) => {
			const token = (auth as { token?: unknown } | undefined)?.token;
			if (token === undefined || token === null || token === "")
				throw new InvalidTokenError("Missing token: connect with { auth: { token } }");
			if (typeof token !== "string") throw new InvalidTokenError("auth.token must be a string");
			return verifier.verify(token);
		},
	};
}
