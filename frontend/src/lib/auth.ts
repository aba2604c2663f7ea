import { apiBaseUrl } from "./config";

/** How the gateway wants callers identified (GET /api/auth/config). */
export interface AuthConfig {
	mode: "header" | "jwt";
	devTokens: boolean;
}

export interface DevToken {
	token: string;
	expiresAt: string;
}

/** The gateway's auth config; header mode when it cannot be read (an older gateway, or down). */
export async function fetchAuthConfig(): Promise<AuthConfig> {
	try {
		const response = await fetch(`${apiBaseUrl()}/api/auth/config`);
		const body = (await response.json()) as Partial<AuthConfig>;
		if (response.ok && (body.mode === "header" || body.mode === "jwt"))
			return { mode: body.mode, devTokens: body.devTokens === true };
	} catch {
		// Falls through to the seed's behaviour.
	}
	return { mode: "header", devTokens: false };
}

/** A development token for any user (AUTH_DEV_TOKENS=true on the gateway). */
export async function fetchDevToken(userId: number): Promise<DevToken> {
	const response = await fetch(`${apiBaseUrl()}/api/auth/dev-token`, {
		method: "POST",
		headers: { "Content-Type": "application/json", Accept: "application/json" },
		body: JSON.stringify({ userId }),
	});
	const body = (await response.json().catch(() => ({}))) as Partial<DevToken> & {
		message?: string;
	};
	if (!response.ok || typeof body.token !== "string" || typeof body.expiresAt !== "string")
		throw new Error(body.message || `Could not get a development token (${response.status})`);
	return { token: body.token, expiresAt: body.expiresAt };
}

/** What the dashboard reads from a token it was given: who it names and when it expires. */
export interface TokenClaims {
	userId: number;
	expiresAt: number;
}

/**
 * The `sub` and `exp` of a JWT, read without verifying it: the gateway verifies every call;
 * this only shows who is signed in and when to ask again. Null when it is not such a token.
 */
export function readTokenClaims(token: string): TokenClaims | null {
	const parts = token.trim().split(".");
	if (parts.length !== 3) return null;
	try {
		const json = atob((parts[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"));
		const claims = JSON.parse(json) as { sub?: unknown; exp?: unknown };
		const sub =
			typeof claims.sub === "string" && /^[1-9][0-9]{0,15}$/.test(claims.sub)
				? Number(claims.sub)
				: NaN;
		if (!Number.isSafeInteger(sub) || typeof claims.exp !== "number") return null;
		return { userId: sub, expiresAt: claims.exp * 1000 };
	} catch {
		return null;
	}
}
