/**
 * Verifies the Bearer tokens of jwt mode with `jose`, against whichever key the config names:
 * JWT_SECRET (HS256), JWT_PUBLIC_KEY (PEM: RS256 or ES256) or JWT_JWKS_URL (the identity
 * provider's key set, fetched on demand, cached and refreshed by jose).
 *
 * Each key accepts only its own algorithms, so a token signed with HS256 using a public key as
 * the secret (the classic algorithm confusion) or an unsigned `alg: none` token is refused.
 */
import {
	createRemoteJWKSet,
	importSPKI,
	jwtVerify,
	type CryptoKey,
	type JWTVerifyGetKey,
	type JWTVerifyOptions,
} from "jose";
import { Errors } from "moleculer";
import { publicKeyAlgorithm, type Config } from "../config";
import { InvalidTokenError } from "../errors";
import { parseUserId } from "../identity";

/** Who a verified token names, and until when (ms since the epoch, skew included). */
export interface VerifiedToken {
	userId: number;
	validUntil: number;
}

export interface TokenVerifier {
	verify(token: string): Promise<VerifiedToken>;
}

/** A token longer than any real JWT is refused before parsing. */
const MAX_TOKEN_CHARS = 8192;

type Key = Uint8Array | CryptoKey | JWTVerifyGetKey;

/** The key and algorithms of the configured source; null when jwt mode is off. */
async function keyOf(config: Config): Promise<{ key: Key; algorithms: string[] } | null> {
	if (config.jwtSecret)
		return { key: new TextEncoder().encode(config.jwtSecret), algorithms: ["HS256"] };
	if (config.jwtPublicKey) {
		const alg = publicKeyAlgorithm(config.jwtPublicKey);
		return { key: await importSPKI(config.jwtPublicKey, alg), algorithms: [alg] };
	}
	if (config.jwtJwksUrl)
		return { key: createRemoteJWKSet(new URL(config.jwtJwksUrl)), algorithms: ["RS256", "ES256"] };
	return null;
}

/** A sentence saying what was wrong with a token, from jose's error code. */
function reasonOf(err: { code?: string; claim?: string; reason?: string }): string | undefined {
	switch (err.code) {
		case "ERR_JWT_EXPIRED":
			return "Token expired";
		case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
			return "Token signature is invalid";
		case "ERR_JOSE_ALG_NOT_ALLOWED":
		case "ERR_JOSE_NOT_SUPPORTED":
			return "Token algorithm is not accepted by this server";
		case "ERR_JWS_INVALID":
		case "ERR_JWT_INVALID":
			return "Token is malformed (expected a signed JWT)";
		case "ERR_JWKS_NO_MATCHING_KEY":
		case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
			return "No key of the identity provider matches the token";
		case "ERR_JWT_CLAIM_VALIDATION_FAILED":
			return err.reason === "missing"
				? `Token has no ${err.claim} claim`
				: `Token claim ${err.claim} is not accepted`;
		default:
			return undefined;
	}
}

export async function createTokenVerifier(config: Config): Promise<TokenVerifier | null> {
	const source = await keyOf(config);
	if (!source) return null;
	const options: JWTVerifyOptions = {
		algorithms: source.algorithms,
		requiredClaims: ["exp", "sub"],
		clockTolerance: config.jwtClockSkewS,
		...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
		...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
	};
	return {
		async verify(token) {
			if (!token) throw new InvalidTokenError("Missing token: send Authorization: Bearer <token>");
			if (token.length > MAX_TOKEN_CHARS) throw new InvalidTokenError("Token is too long");
			let payload: { sub?: string; exp?: number };
			try {
				// jwtVerify has an overload per key kind; the union is one of them.
				payload = (await jwtVerify(token, source.key as Uint8Array, options)).payload;
			} catch (err) {
				const reason = reasonOf(err as { code?: string });
				if (reason) throw new InvalidTokenError(reason);
				// Not the token's fault: the JWKS could not be fetched (down, timeout, not JSON).
				throw new Errors.MoleculerRetryableError(
					"The identity provider's keys could not be read, try again shortly",
					503,
					"SERVICE_UNAVAILABLE",
				);
			}
			const userId = parseUserId(payload.sub ?? "");
			if (userId === undefined)
				throw new InvalidTokenError("Token sub must be a user id (a decimal integer ≥ 1)");
			return {
				userId,
				validUntil: (payload.exp! + config.jwtClockSkewS) * 1000,
			};
		},
	};
}
