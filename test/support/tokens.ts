/** Tokens for the jwt-mode tests, signed with jose the way an identity provider would. */
import { createServer, type Server } from "http";
import type { AddressInfo } from "net";
import {
	exportJWK,
	exportSPKI,
	generateKeyPair,
	SignJWT,
	type CryptoKey,
	type JWTPayload,
} from "jose";
import type { Config } from "../../lib/config";
import { loadConfig } from "../../lib/config";

/** 32+ characters, as the config demands of an HS256 secret. */
export const TEST_SECRET = "test-secret-of-the-jwt-tests-0123456789";

export const nowS = () => Math.floor(Date.now() / 1000);

/** An HS256 token; claims override the default sub and a 10-minute exp (undefined drops one). */
export function hs256(
	claims: JWTPayload & { sub?: string },
	secret = TEST_SECRET,
): Promise<string> {
	const payload: JWTPayload = { exp: nowS() + 600, ...claims };
	for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
	return new SignJWT(payload)
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.sign(new TextEncoder().encode(secret));
}

/** A token of any asymmetric algorithm with the given private key. */
export function signWith(
	key: CryptoKey,
	alg: string,
	claims: JWTPayload,
	kid?: string,
): Promise<string> {
	return new SignJWT({ exp: nowS() + 600, ...claims })
		.setProtectedHeader({ alg, typ: "JWT", ...(kid ? { kid } : {}) })
		.sign(key);
}

/** An unsigned token (`alg: none`), as an attacker would send it. */
export function unsigned(claims: JWTPayload): string {
	const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
	return `${part({ alg: "none", typ: "JWT" })}.${part({ exp: nowS() + 600, ...claims })}.`;
}

export async function keyPair(alg: "RS256" | "ES256") {
	const pair = await generateKeyPair(alg, { extractable: true });
	return { ...pair, pem: await exportSPKI(pair.publicKey) };
}

/** A JWKS endpoint on 127.0.0.1 (random port) serving the public keys given; counts its reads. */
export async function jwksServer(keys: { publicKey: CryptoKey; kid: string; alg: string }[]) {
	const jwks = {
		keys: await Promise.all(
			keys.map(async k => ({
				...(await exportJWK(k.publicKey)),
				kid: k.kid,
				alg: k.alg,
				use: "sig",
			})),
		),
	};
	let reads = 0;
	const server: Server = createServer((_req, res) => {
		reads++;
		res.setHeader("Content-Type", "application/json");
		res.end(JSON.stringify(jwks));
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
		reads: () => reads,
		close: () => new Promise<void>(resolve => server.close(() => resolve())),
	};
}

/** The test config with these variables set, validated as at start-up. */
export const configWith = (env: Record<string, string>): Config =>
	loadConfig({ ...process.env, ...env });
