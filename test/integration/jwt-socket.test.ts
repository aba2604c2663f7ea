import { strict as assert } from "assert";
import type { ServiceBroker } from "moleculer";
import { io, type Socket } from "socket.io-client";
import { createNode } from "../../services/node";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId } from "../support/http";
import { connectedWithUpdates } from "../support/sockets";
import { configWith, hs256, nowS, TEST_SECRET } from "../support/tokens";

/** How long a socket that must get nothing keeps listening after the owner got the event. */
const QUIET_MS = 750;

describe("Identity on socket.io: jwt tokens and the header-mode handshake header", () => {
	const base = new TestCluster({ nodes: ["orders", "payments"] });
	const port = base.config.apiPort;
	const jwtUrl = `http://127.0.0.1:${port}`;
	const headerUrl = `http://127.0.0.1:${port + 1}`;
	const gateways: ServiceBroker[] = [];
	const sockets: Socket[] = [];

	before(async () => {
		await base.start();
		const jwt = configWith({ AUTH_MODE: "jwt", JWT_SECRET: TEST_SECRET });
		gateways.push(createNode({ ...jwt, apiPort: port }, "gateway", `gateway-${port}`));
		gateways.push(
			createNode({ ...configWith({}), apiPort: port + 1 }, "gateway", `gateway-${port + 1}`),
		);
		await Promise.all(gateways.map(g => g.start()));
	});
	after(async () => {
		for (const s of sockets.splice(0)) s.disconnect();
		await Promise.all(gateways.map(g => g.stop()));
		await base.stop();
	});
	afterEach(() => {
		for (const s of sockets.splice(0)) s.disconnect();
	});

	function open(
		url: string,
		auth: Record<string, unknown>,
		headers?: Record<string, string>,
	): Socket {
		// Polling first (the default): extraHeaders go on its handshake request, as a proxy's would.
		const socket = io(url, {
			path: "/socket.io",
			auth,
			forceNew: true,
			reconnection: false,
			extraHeaders: headers,
		});
		sockets.push(socket);
		return socket;
	}

	/** A connected socket and the events it receives. */
	async function connected(
		url: string,
		auth: Record<string, unknown>,
		headers?: Record<string, string>,
	) {
		return connectedWithUpdates(open(url, auth, headers));
	}

	function refusal(url: string, auth: Record<string, unknown>): Promise<Error> {
		const socket = open(url, auth);
		return new Promise((resolve, reject) => {
			socket.once("connect", () =>
				reject(new Error(`handshake ${JSON.stringify(auth)} was accepted`)),
			);
			socket.once("connect_error", resolve);
		});
	}

	/** An order of a user without an account: it is CANCELLED at once, which pushes an event. */
	async function placeOrder(url: string, userId: number): Promise<string> {
		const token = await hs256({ sub: String(userId) });
		const headers: Record<string, string> =
			url === jwtUrl ? { Authorization: `Bearer ${token}` } : { "X-User-ID": String(userId) };
		const reply = await apiClient(url)("POST", "/api/orders", {
			headers,
			body: { amount: 5, description: "socket identity" },
		});
		assert.equal(reply.status, 202);
		return reply.body.id;
	}

	it("When a handshake has no token, an expired one, or only auth.userId, then it is refused with the reason", async () => {
		assert.match((await refusal(jwtUrl, {})).message, /Missing token/);
		assert.match((await refusal(jwtUrl, { userId: 5 })).message, /Missing token/);
		// 60 s past exp: beyond the 30 s of allowed clock skew.
		const expired = await hs256({ sub: "5", exp: nowS() - 60 });
		const refused = await refusal(jwtUrl, { token: expired });
		assert.match(refused.message, /Token expired/);
		assert.ok(!refused.message.includes(expired.split(".")[1]), "the token is not echoed");
		assert.match(
			(
				await refusal(jwtUrl, {
					token: await hs256({ sub: "5" }, "another-secret-of-at-least-32-characters"),
				})
			).message,
			/signature is invalid/,
		);
	});

	it("When a token's user has an order change, then that user's socket gets it and another user's socket does not", async () => {
		const owner = newUserId();
		const other = newUserId();
		const mine = await connected(jwtUrl, { token: await hs256({ sub: String(owner) }) });
		const theirs = await connected(jwtUrl, { token: await hs256({ sub: String(other) }) });

		const orderId = await placeOrder(jwtUrl, owner);
		await eventually(async () => mine.events.find(e => e.orderId === orderId), "the owner's event");
		await new Promise(r => setTimeout(r, QUIET_MS));
		assert.deepEqual(theirs.events, []);
		// The other socket works: it gets its own user's events.
		const theirOrder = await placeOrder(jwtUrl, other);
		await eventually(
			async () => theirs.events.find(e => e.orderId === theirOrder),
			"the other user's event",
		);
		assert.equal(mine.events.length, 1);
	});

	it("When a socket's token expires, then the server drops it at that moment", async () => {
		// exp 28 s ago is still valid under the 30 s clock skew, for about 2 more seconds: the
		// server keeps the socket until exp + skew, the moment a REST call with it starts failing.
		const exp = nowS() - 28;
		const { socket } = await connected(jwtUrl, {
			token: await hs256({ sub: String(newUserId()), exp }),
		});
		const reason = await new Promise<string>((resolve, reject) => {
			socket.once("disconnect", resolve);
			setTimeout(() => reject(new Error("the socket was still connected 10 s later")), 10_000);
		});
		const droppedAt = Date.now();
		assert.equal(reason, "io server disconnect");
		const due = (exp + 30) * 1000;
		assert.ok(
			droppedAt >= due && droppedAt < due + 1500,
			`dropped ${droppedAt - due} ms after exp + skew`,
		);
	});

	it("When a header-mode handshake carries an X-User-ID header, then it is the identity, over auth.userId", async () => {
		const proxied = newUserId();
		const claimed = newUserId();
		const tab = await connected(headerUrl, { userId: claimed }, { "X-User-ID": String(proxied) });
		const orderId = await placeOrder(headerUrl, proxied);
		await eventually(
			async () => tab.events.find(e => e.orderId === orderId),
			"the proxied user's event",
		);
		const claimedOrder = await placeOrder(headerUrl, claimed);
		await new Promise(r => setTimeout(r, QUIET_MS));
		assert.ok(
			!tab.events.some(e => e.orderId === claimedOrder),
			"auth.userId does not override the header",
		);
		// Without the header, auth.userId is the local-demo fallback.
		const demo = await connected(headerUrl, { userId: claimed });
		const again = await placeOrder(headerUrl, claimed);
		await eventually(
			async () => demo.events.find(e => e.orderId === again),
			"the demo user's event",
		);
	});
});
