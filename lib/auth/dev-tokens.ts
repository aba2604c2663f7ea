/**
 * The development token issuer (AUTH_DEV_TOKENS=true): signs an HS256 token for any user id
 * with JWT_SECRET, so the demo keeps its "type a user id" flow in jwt mode. Anyone who can
 * reach it can act as anyone: it is for a local or demo stack only.
 */
import { SignJWT } from "jose";
import type { Config } from "../config";

/** How long a development token is valid. */
export const DEV_TOKEN_TTL_S = 3600;

export interface DevToken {
	token: string;
	expiresAt: string;
}

export async function issueDevToken(
	config: Config,
	userId: number,
	now = Date.now(),
): Promise<DevToken> {
	const exp = Math.floor(now / 1000) + DEV_TOKEN_TTL_S;
	let jwt = new SignJWT({})
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.setSubject(String(userId))
		.setIssuedAt(Math.floor(now / 1000))
		.setExpirationTime(exp);
	if (config.jwtIssuer) jwt = jwt.setIssuer(config.jwtIssuer);
	if (config.jwtAudience) jwt = jwt.setAudience(config.jwtAudience);
	const token = await jwt.sign(new TextEncoder().encode(config.jwtSecret));
	return { token, expiresAt: new Date(exp * 1000).toISOString() };
}
