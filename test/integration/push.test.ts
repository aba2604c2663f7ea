import { strict as assert } from "assert";
import Redis from "ioredis";
import { io, Socket } from "socket.io-client";
import { OrderUpdated, orderStatusChannel } from "../../lib/contracts";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId } from "../support/http";
import { connectedWithUpdates } from "../support/sockets";

/** How long a socket that must get nothing keeps listening after the owner got the event. */
const QUIET_MS = 750;

interface Tab {
	socket: Socket;
	events: OrderUpdated[];
}

describe("Push: order.updated over socket.io", () => {
	const cluster = new TestCluster({
		nodes: ["gateway", "gateway", "orders", "orders", "payments"],
	});
	const gatewayA = cluster.apiUrl;
	const gatewayB = `http://127.0.0.1:${cluster.config.apiPort + 1}`;
	const api = apiClient(gatewayA);
	const channel = orderStatusChannel(cluster.config.redisPrefix);
	const sockets: Socket[] = [];
	let redis: Redis;

	before(async () => {
		await cluster.start();
		redis = new Redis(cluster.config.redisUrl);
	});
	after(async () => {
		redis?.disconnect();
		await cluster.stop();
	});
	afterEach(() => {
		for (const s of sockets.splice(0)) s.disconnect();
	});

	function open(url: string, auth: Record<string, unknown>): Socket {
		const socket = io(url, { path: "/socket.io", auth, forceNew: true, reconnection: false });
		sockets.push(socket);
		return socket;
	}

	/** A connected socket (a browser tab) and the events it received. */
	async function tab(userId: number | string, url = gatewayA): Promise<Tab> {
		return connectedWithUpdates(open(url, { userId }));
	}

	/** The connect_error a handshake with this auth ends in. */
	function refusal(auth: Record<string, unknown>): Promise<Error & { data?: unknown }> {
		const socket = open(gatewayA, auth);
		return new Promise((resolve, reject) => {
			socket.once("connect", () =>
				reject(new Error(`handshake ${JSON.stringify(auth)} was accepted`)),
			);
			socket.once("connect_error", resolve);
		});
	}

	const received = (t: Tab, orderId: string) =>
		eventually(
			async () => t.events.find(e => e.orderId === orderId),
			`order.updated for ${orderId}`,
		);

	async function fundedUser(balance: number): Promise<number> {
		const userId = newUserId();
		assert.equal((await api("POST", "/api/accounts", { userId })).status, 201);
		assert.equal(
			(await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: balance } })).status,
			200,
		);
		return userId;
	}

	async function placeOrder(userId: number, amount: number, through = api): Promise<string> {
		const order = await through("POST", "/api/orders", {
			userId,
			body: { amount, description: "push test" },
		});
		assert.equal(order.status, 202);
		return order.body.id;
	}

	it("When a funded user's order is paid, then their socket gets order.updated FINISHED with exactly the contract's fields", async () => {
		const userId = await fundedUser(10_000);
		const t = await tab(userId);

		const orderId = await placeOrder(userId, 2_500);
		const event = await received(t, orderId);

		const stored = await api("GET", `/api/orders/${orderId}`, { userId });
		assert.equal(stored.body.status, "FINISHED");
		assert.deepEqual(event, {
			orderId,
			userId,
			status: "FINISHED",
			amount: 2_500,
			updatedAt: stored.body.updatedAt,
		});
		assert.equal(t.events.length, 1);
	});

	it("When the balance is too small, then the CANCELLED event carries cancelReason INSUFFICIENT_FUNDS", async () => {
		const userId = await fundedUser(100);
		const t = await tab(userId);

		const orderId = await placeOrder(userId, 101);
		const event = await received(t, orderId);

		assert.equal(event.status, "CANCELLED");
		assert.equal(event.cancelReason, "INSUFFICIENT_FUNDS");
		assert.equal(event.amount, 101);
	});

	it("When a user without an account orders, then the CANCELLED event carries cancelReason ACCOUNT_NOT_FOUND", async () => {
		const userId = newUserId();
		const t = await tab(userId);

		const orderId = await placeOrder(userId, 7);
		const event = await received(t, orderId);

		assert.deepEqual(
			{ status: event.status, cancelReason: event.cancelReason, userId: event.userId },
			{ status: "CANCELLED", cancelReason: "ACCOUNT_NOT_FOUND", userId },
		);
	});

	it("When another user's order changes, then no socket of mine gets it, on either gateway", async () => {
		const owner = await fundedUser(1_000);
		const me = await fundedUser(1_000);
		const ownerTab = await tab(owner);
		const mineOnA = await tab(me, gatewayA);
		const mineOnB = await tab(me, gatewayB);

		const theirs = await placeOrder(owner, 10);
		await received(ownerTab, theirs);
		await new Promise(r => setTimeout(r, QUIET_MS));

		assert.deepEqual(mineOnA.events, []);
		assert.deepEqual(mineOnB.events, []);
		// The same sockets do get their own user's events: they were listening all along.
		const mine = await placeOrder(me, 10);
		await received(mineOnA, mine);
		await received(mineOnB, mine);
		assert.deepEqual(
			ownerTab.events.map(e => e.orderId),
			[theirs],
		);
	});

	it("When a user has two tabs open, then both get the event (userId as a number and as a string of digits)", async () => {
		const userId = await fundedUser(1_000);
		const first = await tab(userId);
		const second = await tab(String(userId));

		const orderId = await placeOrder(userId, 300);

		assert.equal((await received(first, orderId)).status, "FINISHED");
		assert.equal((await received(second, orderId)).status, "FINISHED");
	});

	it("When the socket is on gateway B and the order goes through gateway A, then the socket still gets the event", async () => {
		const userId = await fundedUser(1_000);
		const onB = await tab(userId, gatewayB);

		const orderId = await placeOrder(userId, 400, apiClient(gatewayA));
		const event = await received(onB, orderId);

		assert.equal(event.status, "FINISHED");
		assert.equal(event.userId, userId);
	});

	for (const [what, auth, reason] of [
		["no userId", {}, /auth\.userId is required/],
		['userId "abc"', { userId: "abc" }, /auth\.userId must be a positive integer, got "abc"/],
		["userId 0", { userId: 0 }, /auth\.userId must be a positive integer, got 0/],
		["userId -5", { userId: -5 }, /auth\.userId must be a positive integer, got -5/],
		["userId 1.5", { userId: 1.5 }, /auth\.userId must be a positive integer, got 1\.5/],
	] as const) {
		it(`When the handshake has ${what}, then it is refused with a connect_error saying why`, async () => {
			const err = await refusal(auth);
			assert.match(err.message, reason);
		});
	}

	it("When malformed messages are published on the status channel, then they are dropped and later events still arrive", async () => {
		const userId = newUserId();
		const t = await tab(userId);
		const valid: OrderUpdated = {
			orderId: "00000000-0000-4000-8000-000000000001",
			userId,
			status: "FINISHED",
			amount: 5,
			updatedAt: new Date().toISOString(),
		};

		for (const bad of [
			"not json",
			"null",
			JSON.stringify([valid]),
			JSON.stringify({ ...valid, status: "PAID" }),
			JSON.stringify({ ...valid, userId: String(userId) }),
			JSON.stringify({ ...valid, cancelReason: "INSUFFICIENT_FUNDS" }),
		])
			await redis.publish(channel, bad);
		await redis.publish(channel, JSON.stringify({ ...valid, internal: "not for clients" }));

		await received(t, valid.orderId);
		await new Promise(r => setTimeout(r, QUIET_MS));
		assert.deepEqual(t.events, [valid]);
	});

	it("When a gateway's Redis connection drops, then it resubscribes and pushes resume", async () => {
		const userId = await fundedUser(1_000);
		const t = await tab(userId, gatewayB);
		const name = `${cluster.config.redisPrefix}push`;
		const subscriberIds = async () =>
			((await redis.client("LIST")) as string)
				.split("\n")
				.filter(line => line.includes(` name=${name} `))
				.map(line => /^id=(\d+)/.exec(line)![1]);
		const before = await subscriberIds();
		assert.equal(before.length, 2, "one subscriber per gateway");

		for (const id of before) await redis.client("KILL", "ID", id);
		await eventually(async () => {
			const now = await subscriberIds();
			const [, count] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
			return now.length === 2 && now.every(id => !before.includes(id)) && count === 2;
		}, "both gateways to reconnect and resubscribe");

		const orderId = await placeOrder(userId, 50);
		assert.equal((await received(t, orderId)).status, "FINISHED");
	});
});
