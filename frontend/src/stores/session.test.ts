import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fetchAccount } from "../lib/api";
import { setCredentials } from "../lib/http";
import { mockFetch, routes, type FakeAnswer, type RecordedRequest } from "../testing/fetch";
import { fakeToken } from "../testing/tokens";
import { REFRESH_MARGIN_MS, useSessionStore } from "./session";
import { freshStores } from "../testing/stores";

const HOUR = 3600_000;
const account = (userId: number): FakeAnswer => [
	200,
	{ userId, balance: 0, currency: "RUB", createdAt: "", updatedAt: "" },
];
let requests: RecordedRequest[];
let issued: number[];

/** A fake gateway in the given mode whose dev issuer signs tokens valid for `ttlMs`. */
function gateway(config: object, ttlMs = HOUR) {
	issued = [];
	({ requests } = mockFetch(req => {
		if (req.method === "POST" && req.path === "/api/auth/dev-token") {
			const userId = (req.body as { userId: number }).userId;
			issued.push(userId);
			const expiresAt = Date.now() + ttlMs;
			return [
				200,
				{
					token: fakeToken(String(userId), expiresAt),
					expiresAt: new Date(expiresAt).toISOString(),
				},
			];
		}
		return routes({ "GET /api/auth/config": [200, config], "GET /api/accounts/me": account(1) })(
			req,
		);
	}));
}

/** The session store once it has read the auth config of `gateway(config, ttlMs)`. */
async function sessionOf(config: object, ttlMs = HOUR) {
	gateway(config, ttlMs);
	const session = useSessionStore();
	await session.loadAuthConfig();
	return session;
}

const lastCall = () => requests.filter(r => r.path === "/api/accounts/me").at(-1)!;

beforeEach(() => {
	freshStores();
});
afterEach(() => {
	setCredentials(null);
	vi.useRealTimers();
});

describe("session store: identity per AUTH_MODE", () => {
	it("When the gateway runs in header mode, then calls carry X-User-ID and no token", async () => {
		const session = await sessionOf({ mode: "header", devTokens: false });
		session.setUserId(7);
		await fetchAccount(session.userId);
		expect(lastCall().headers["X-User-ID"]).toBe("7");
		expect(lastCall().headers.Authorization).toBeUndefined();
		expect(session.signedIn).toBe(true);
	});

	it("When the config cannot be read, then the dashboard falls back to header mode", async () => {
		mockFetch(() => "network");
		const session = useSessionStore();
		await session.loadAuthConfig();
		expect(session.mode).toBe("header");
	});

	it("When jwt mode has dev tokens, then a typed user id is exchanged for a token sent as Bearer, and reused while fresh", async () => {
		const session = await sessionOf({ mode: "jwt", devTokens: true });
		session.setUserId(42);
		await fetchAccount(session.userId);
		await fetchAccount(session.userId);
		expect(issued).toEqual([42]);
		expect(lastCall().headers.Authorization).toBe(`Bearer ${session.token}`);
		expect(lastCall().headers["X-User-ID"]).toBeUndefined();
		expect(session.signedIn).toBe(true);
	});

	it("When a dev token is close to expiry or the user changes, then a fresh token is fetched first", async () => {
		vi.useFakeTimers({ toFake: ["Date"] });
		const session = await sessionOf({ mode: "jwt", devTokens: true }, REFRESH_MARGIN_MS + 60_000);
		session.setUserId(5);
		await fetchAccount(5);
		vi.setSystemTime(Date.now() + 30_000);
		await fetchAccount(5);
		expect(issued).toEqual([5]);
		vi.setSystemTime(Date.now() + 60_000);
		await fetchAccount(5);
		expect(issued).toEqual([5, 5]);
		session.setUserId(6);
		await fetchAccount(6);
		expect(issued).toEqual([5, 5, 6]);
		expect(lastCall().headers.Authorization).toBe(`Bearer ${session.token}`);
	});

	it("When jwt mode has no dev tokens, then a pasted token signs in as its sub, in memory only, until it expires", async () => {
		vi.useFakeTimers();
		const session = await sessionOf({ mode: "jwt", devTokens: false });
		expect(session.signedIn).toBe(false);
		expect(session.signIn("not a token")).toBe("notToken");
		expect(session.signIn(fakeToken("42", Date.now() - 1000))).toBe("expired");
		expect(session.signIn(fakeToken("abc", Date.now() + HOUR))).toBe("notToken");

		const token = fakeToken("42", Date.now() + HOUR);
		expect(session.signIn(token)).toBe("");
		expect([session.signedIn, session.userId]).toEqual([true, 42]);
		await fetchAccount(session.userId);
		expect(lastCall().headers.Authorization).toBe(`Bearer ${token}`);
		expect(JSON.stringify({ ...localStorage })).not.toContain(token.split(".")[1]);
		// Typing a user id does not change who a token names.
		session.setUserId(43);
		expect(session.userId).toBe(42);

		vi.advanceTimersByTime(HOUR);
		expect(session.signedIn).toBe(false);
		expect(session.token).toBeNull();
	});
});
