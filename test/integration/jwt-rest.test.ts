import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { join } from "path";
import { TestCluster } from "../support/cluster";
import { apiClient, newUserId, type Json } from "../support/http";
import type { ServiceBroker } from "moleculer";
import { createNode } from "../../services/node";
import { projectRoot } from "../../lib/paths";
import {
	configWith,
	hs256,
	jwksServer,
	keyPair,
	nowS,
	signWith,
	TEST_SECRET,
	unsigned,
} from "../support/tokens";

const CHALLENGE = 'Bearer error="invalid_token"';

/** A REST call with a Bearer token (and any other headers), answer status, headers and body. */
async function call(
	url: string,
	method: string,
	path: string,
	token?: string,
	headers: Record<string, string> = {},
	body?: unknown,
) {
	const res = await fetch(url + path, {
		method,
		headers: {
			...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
			...(body ? { "Content-Type": "application/json" } : {}),
			...headers,
		},
		body: body ? JSON.stringify(body) : undefined,
	});
	return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

/** Asserts the 401 of jwt mode: challenge header, type, a message matching `reason`, no token echoed. */
function assertRefused(reply: Awaited<ReturnType<typeof call>>, reason: RegExp, token = "") {
	assert.equal(reply.status, 401, JSON.stringify(reply.body));
	assert.equal(reply.headers.get("www-authenticate"), CHALLENGE);
	assert.equal(reply.body.type, "UNAUTHORIZED");
	assert.match(reply.body.message, reason);
	if (token)
		for (const part of token.split(".").filter(p => p.length > 8))
			assert.ok(!JSON.stringify(reply.body).includes(part), "the token is not echoed");
}

describe("Identity in jwt mode: REST", () => {
	const base = new TestCluster({ nodes: ["orders", "payments"] });
	const port = base.config.apiPort;
	// One gateway per key source, all in the test cluster (same namespace), each on its own port.
	const hsUrl = `http://127.0.0.1:${port}`;
	const esUrl = `http://127.0.0.1:${port + 1}`;
	const jwksUrl = `http://127.0.0.1:${port + 2}`;
	const headerUrl = `http://127.0.0.1:${port + 3}`;
	const gateways: ServiceBroker[] = [];
	let es: Awaited<ReturnType<typeof keyPair>>;
	let rs: Awaited<ReturnType<typeof keyPair>>;
	let keys: Awaited<ReturnType<typeof jwksServer>>;

	async function gateway(env: Record<string, string>, apiPort: number) {
		// Unique node names: the gateways share the cluster's namespace.
		const broker = createNode({ ...configWith(env), apiPort }, "gateway", `gateway-${apiPort}`);
		gateways.push(broker);
		await broker.start();
	}

	before(async () => {
		await base.start();
		es = await keyPair("ES256");
		rs = await keyPair("RS256");
		keys = await jwksServer([{ publicKey: rs.publicKey, kid: "k1", alg: "RS256" }]);
		await gateway({ AUTH_MODE: "jwt", JWT_SECRET: TEST_SECRET, AUTH_DEV_TOKENS: "true" }, port);
		await gateway({ AUTH_MODE: "jwt", JWT_PUBLIC_KEY: es.pem.replace(/\n/g, "\\n") }, port + 1);
		await gateway(
			{
				AUTH_MODE: "jwt",
				JWT_JWKS_URL: keys.url,
				JWT_ISSUER: "https://id.shop.test",
				JWT_AUDIENCE: "gozon",
			},
			port + 2,
		);
		await gateway({}, port + 3);
	});
	after(async () => {
		await Promise.all(gateways.map(g => g.stop()));
		await base.stop();
		await keys?.close();
	});

	it("When a valid HS256 token names a user, then the request runs as that user", async () => {
		const userId = newUserId();
		const token = await hs256({ sub: String(userId) });
		const created = await call(hsUrl, "POST", "/api/accounts", token);
		assert.equal(created.status, 201);
		assert.equal(created.body.userId, userId);
		const me = await call(hsUrl, "GET", "/api/accounts/me", token);
		assert.equal(me.status, 200);
		assert.equal(me.body.userId, userId);
	});

	it("When the token is missing, forged, expired, wrongly signed, unsigned, without exp or with a bad sub, then it is 401 with the Bearer challenge and the reason", async () => {
		const sub = String(newUserId());
		const good = await hs256({ sub });
		const [header, , signature] = good.split(".");
		const forged = `${header}.${Buffer.from(JSON.stringify({ sub: "1", exp: nowS() + 600 })).toString("base64url")}.${signature}`;
		const cases: [string, string | undefined, RegExp][] = [
			["missing", undefined, /missing token/i],
			["forged", forged, /signature is invalid/],
			// 60 s past exp: beyond the 30 s of allowed clock skew.
			["expired", await hs256({ sub, exp: nowS() - 60 }), /expired/],
			[
				"wrong secret",
				await hs256({ sub }, "another-secret-of-at-least-32-characters"),
				/signature is invalid/,
			],
			["alg none", unsigned({ sub }), /algorithm is not accepted/],
			[
				"RS256 on an HS256 gateway",
				await signWith(rs.privateKey, "RS256", { sub }),
				/algorithm is not accepted/,
			],
			["no exp", await hs256({ sub, exp: undefined }), /no exp claim/],
			["no sub", await hs256({ sub: undefined }), /no sub claim/],
			["sub not a number", await hs256({ sub: "alice" }), /sub must be a user id/],
			["sub zero", await hs256({ sub: "0" }), /sub must be a user id/],
			["sub with a sign", await hs256({ sub: "-5" }), /sub must be a user id/],
			["garbage", "not.a.jwt", /malformed/],
		];
		for (const [name, token, reason] of cases) {
			const reply = await call(hsUrl, "GET", "/api/accounts/me", token);
			assert.doesNotThrow(
				() => assertRefused(reply, reason, token),
				`${name}: ${JSON.stringify(reply.body)}`,
			);
		}
		assertRefused(
			await call(hsUrl, "GET", "/api/accounts/me", undefined, {
				Authorization: "Basic dXNlcjpwYXNz",
			}),
			/must be Bearer/,
		);
	});

	it("When a request has a token and an X-User-ID of another user, then the token decides; X-User-ID alone is refused", async () => {
		const owner = newUserId();
		const other = newUserId();
		const token = await hs256({ sub: String(owner) });
		const created = await call(hsUrl, "POST", "/api/accounts", token, {
			"X-User-ID": String(other),
		});
		assert.equal(created.status, 201);
		assert.equal(created.body.userId, owner);
		assertRefused(
			await call(hsUrl, "GET", "/api/accounts/me", undefined, { "X-User-ID": String(owner) }),
			/missing token/i,
		);
	});

	it("When the dev issuer is on, then /api/auth/config says so and a dev token for a user id works for an hour", async () => {
		const config = await call(hsUrl, "GET", "/api/auth/config");
		assert.deepEqual([config.status, config.body], [200, { mode: "jwt", devTokens: true }]);
		const userId = newUserId();
		const issued = await call(hsUrl, "POST", "/api/auth/dev-token", undefined, {}, { userId });
		assert.equal(issued.status, 200);
		const lifetime = Date.parse(issued.body.expiresAt) - Date.now();
		assert.ok(lifetime > 3590_000 && lifetime <= 3600_000, `valid for an hour, got ${lifetime} ms`);
		assert.equal(
			(await call(hsUrl, "POST", "/api/accounts", issued.body.token)).body.userId,
			userId,
		);
		const bad = await call(hsUrl, "POST", "/api/auth/dev-token", undefined, {}, { userId: 0 });
		assert.equal(bad.status, 422);
	});

	it("When the gateway runs in header mode, then /api/auth/config says so, dev tokens are 404 and X-User-ID works as before", async () => {
		const config = await call(headerUrl, "GET", "/api/auth/config");
		assert.deepEqual([config.status, config.body], [200, { mode: "header", devTokens: false }]);
		const issued = await call(
			headerUrl,
			"POST",
			"/api/auth/dev-token",
			undefined,
			{},
			{ userId: 5 },
		);
		assert.deepEqual([issued.status, issued.body.type], [404, "NOT_FOUND"]);
		const userId = newUserId();
		const reply = await apiClient(headerUrl)("POST", "/api/accounts", { userId });
		assert.deepEqual([reply.status, reply.body.userId], [201, userId]);
	});

	it("When JWT_PUBLIC_KEY is a P-256 PEM, then ES256 tokens work and an HS256 token signed with the public key is refused", async () => {
		const userId = newUserId();
		const token = await signWith(es.privateKey, "ES256", { sub: String(userId) });
		assert.equal((await call(esUrl, "POST", "/api/accounts", token)).body.userId, userId);
		// Algorithm confusion: the public key used as an HMAC secret.
		const confused = await hs256({ sub: String(userId) }, es.pem);
		assertRefused(
			await call(esUrl, "GET", "/api/accounts/me", confused),
			/algorithm is not accepted/,
		);
		const otherKey = await keyPair("ES256");
		assertRefused(
			await call(
				esUrl,
				"GET",
				"/api/accounts/me",
				await signWith(otherKey.privateKey, "ES256", { sub: "7" }),
			),
			/signature is invalid/,
		);
	});

	it("When JWT_JWKS_URL names a key server, then its RS256 tokens work, the keys are cached, and iss and aud are checked", async () => {
		const userId = newUserId();
		const claims = { sub: String(userId), iss: "https://id.shop.test", aud: "gozon" };
		const token = await signWith(rs.privateKey, "RS256", claims, "k1");
		assert.equal((await call(jwksUrl, "POST", "/api/accounts", token)).body.userId, userId);
		for (let i = 0; i < 5; i++)
			assert.equal((await call(jwksUrl, "GET", "/api/accounts/me", token)).status, 200);
		assert.equal(keys.reads(), 1, "the key set is fetched once, then cached");
		const stranger = await keyPair("RS256");
		const refused: [string, RegExp][] = [
			[
				await signWith(rs.privateKey, "RS256", { ...claims, iss: "https://evil.test" }, "k1"),
				/claim iss/,
			],
			[await signWith(rs.privateKey, "RS256", { ...claims, aud: "other" }, "k1"), /claim aud/],
			[await signWith(stranger.privateKey, "RS256", claims, "k1"), /signature is invalid/],
		];
		for (const [refusedToken, reason] of refused)
			assertRefused(await call(jwksUrl, "GET", "/api/accounts/me", refusedToken), reason);
	});

	it("When AUTH_MODE=jwt has no key, or dev tokens lack a secret, then start-up stops with one line naming the variables", () => {
		const run = (env: Record<string, string>) =>
			spawnSync(
				process.execPath,
				["--import", "tsx", join(projectRoot, "scripts", "node.ts"), "gateway"],
				{
					env: { ...process.env, JWT_SECRET: "", JWT_PUBLIC_KEY: "", JWT_JWKS_URL: "", ...env },
					encoding: "utf8",
					timeout: 30_000,
				},
			);
		const noKey = run({ AUTH_MODE: "jwt" });
		assert.equal(noKey.status, 1);
		assert.equal(
			noKey.stderr.trim(),
			"AUTH_MODE=jwt needs a key to verify tokens: set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL",
		);
		const devInHeader = run({ AUTH_DEV_TOKENS: "true" });
		assert.equal(devInHeader.status, 1);
		assert.equal(
			devInHeader.stderr.trim(),
			"AUTH_DEV_TOKENS=true needs AUTH_MODE=jwt and JWT_SECRET",
		);
	});
});
