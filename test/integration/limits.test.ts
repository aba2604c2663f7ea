import { strict as assert } from "assert";
import { connect } from "net";
import type { Socket } from "socket.io-client";
import { HEADERS_TIMEOUT_MS } from "../../services/api/api.service";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId } from "../support/http";
import { handshake, openUserSocket } from "../support/sockets";

const BURST = 10;
const CAP = 3;

describe("Limits: request rate and sockets per user, shared by every gateway", () => {
	// A refill of 1 a second keeps the arithmetic tight: a test's few hundred ms add at most one.
	const cluster = new TestCluster({
		nodes: ["gateway", "gateway", "orders", "payments"],
		overrides: { gateway: { rateLimitPerUserPerS: 1, rateLimitBurst: BURST, socketsPerUser: CAP } },
	});
	const gatewayA = cluster.apiUrl;
	const gatewayB = `http://127.0.0.1:${cluster.config.apiPort + 1}`;
	const apiA = apiClient(gatewayA);
	const apiB = apiClient(gatewayB);
	const sockets: Socket[] = [];

	before(() => cluster.start());
	after(() => cluster.stop());
	afterEach(() => {
		for (const s of sockets.splice(0)) s.disconnect();
	});

	const open = (url: string, userId: number) => openUserSocket(url, userId, sockets);

	it("When one address calls the open /api/auth routes past the burst, then it gets 429 RATE_LIMITED with Retry-After", async () => {
		const replies: Response[] = [];
		for (let i = 0; i < BURST + 4; i++) replies.push(await fetch(`${gatewayA}/api/auth/config`));
		const limited = replies.filter(r => r.status === 429);
		assert.ok(limited.length >= 2, `${limited.length} of ${replies.length} limited`);
		assert.equal(((await limited[0].json()) as { type: string }).type, "RATE_LIMITED");
		assert.match(String(limited[0].headers.get("retry-after")), /^[1-9]\d*$/);
	});

	it("When one user spends the burst across two gateways, then the next request on either is 429 RATE_LIMITED with Retry-After, and other users are unaffected", async () => {
		const userId = newUserId();
		const other = newUserId();
		const started = Date.now();
		const replies = [];
		for (let i = 0; i < BURST + 6; i++)
			replies.push(await (i % 2 ? apiB : apiA)("GET", "/api/orders", { userId }));
		const elapsedS = (Date.now() - started) / 1000;
		const allowed = replies.filter(r => r.status === 200).length;
		const limited = replies.filter(r => r.status === 429);
		// One shared bucket: the sum over both gateways is the burst (plus what refilled meanwhile),
		// where a bucket per gateway would have let 2 × BURST through.
		assert.ok(
			allowed >= BURST && allowed <= BURST + Math.ceil(elapsedS),
			`${allowed} allowed in ${elapsedS} s`,
		);
		assert.equal(allowed + limited.length, replies.length);
		assert.deepEqual(
			replies.slice(0, BURST).map(r => r.status),
			Array(BURST).fill(200),
		);
		assert.equal(limited[0].body.type, "RATE_LIMITED");
		assert.equal(limited[0].body.code, 429);

		const res = await fetch(`${gatewayB}/api/orders`, {
			headers: { "X-User-ID": String(userId) },
		});
		assert.equal(res.status, 429);
		const retryAfter = res.headers.get("retry-after");
		assert.match(retryAfter ?? "", /^[1-9][0-9]*$/);

		assert.equal(
			(await apiA("GET", "/api/orders", { userId: other })).status,
			200,
			"another user has a bucket of their own",
		);

		await new Promise(r => setTimeout(r, Number(retryAfter) * 1000));
		assert.equal(
			(await apiA("GET", "/api/orders", { userId })).status,
			200,
			"a token is back after Retry-After",
		);
	});

	it("When a user opens more sockets than SOCKETS_PER_USER across two gateways, then the next handshake is refused with the reason, and a freed slot can be used again", async () => {
		const userId = newUserId();
		const first = [open(gatewayA, userId), open(gatewayA, userId), open(gatewayB, userId)];
		assert.deepEqual(await Promise.all(first.map(handshake)), [undefined, undefined, undefined]);

		const refused = await handshake(open(gatewayB, userId));
		assert.match(refused ?? "connected", /too many connections.*3 open sockets/);
		assert.equal(
			await handshake(open(gatewayA, newUserId())),
			undefined,
			"another user still connects",
		);

		first[0].disconnect();
		await eventually(
			async () => {
				const socket = open(gatewayB, userId);
				const outcome = await handshake(socket);
				if (outcome) socket.disconnect();
				return outcome === undefined;
			},
			"the freed slot to be usable",
			5000,
			100,
		);
	});

	it("When a socket sends a message over 4 kB, then it is disconnected; a smaller one is fine", async () => {
		const socket = open(gatewayA, newUserId());
		assert.equal(await handshake(socket), undefined);
		const reasons: string[] = [];
		socket.on("disconnect", reason => reasons.push(reason));

		socket.emit("hello", "x".repeat(3000));
		await new Promise(r => setTimeout(r, 300));
		assert.ok(socket.connected, "3 kB is within the limit");

		socket.emit("hello", "x".repeat(5000));
		await eventually(async () => !socket.connected, "the socket to be dropped", 5000);
		assert.deepEqual(reasons, ["transport close"]);
	});

	it("When a client sends its headers a byte a second (slowloris), then the gateway drops it after HEADERS_TIMEOUT_MS", async () => {
		const port = cluster.config.apiPort;
		const started = Date.now();
		const socket = connect(port, "127.0.0.1");
		let answer = "";
		let answeredAfter = 0;
		socket.on("data", d => {
			answer += d;
			answeredAfter ||= Date.now() - started;
		});
		socket.write("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n");
		const drip = setInterval(() => socket.writable && socket.write("X"), 1000);
		// The server answers 408 and ends its side; the client would keep its own side open.
		const endedAfter = await new Promise<number>(resolve => {
			socket.on("end", () => resolve(Date.now() - started));
			socket.on("close", () => resolve(Date.now() - started));
			socket.on("error", () => undefined);
		});
		clearInterval(drip);
		socket.destroy();
		assert.match(answer, /^HTTP\/1\.1 408/);
		assert.ok(
			endedAfter >= HEADERS_TIMEOUT_MS - 500 && endedAfter < HEADERS_TIMEOUT_MS + 3000,
			`answered after ${answeredAfter} ms, ended after ${endedAfter} ms`,
		);
	});

	it("When requests carry no valid identity, then they count against the client's address", async () => {
		const replies = [];
		for (let i = 0; i < BURST + 3; i++)
			replies.push(await (i % 2 ? apiB : apiA)("GET", "/api/orders"));
		const statuses = replies.map(r => r.status);
		assert.deepEqual(statuses.slice(0, BURST), Array(BURST).fill(401));
		assert.ok(statuses.slice(BURST).includes(429), statuses.join(","));
	});
});
