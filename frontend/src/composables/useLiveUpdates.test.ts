import type { Socket } from "socket.io-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { effectScope, nextTick, type EffectScope } from "vue";
import { useAccountStore } from "../stores/account";
import { useConnectionStore } from "../stores/connection";
import { useOrdersStore } from "../stores/orders";
import { useSessionStore } from "../stores/session";
import { useSummaryStore } from "../stores/summary";
import { useToastsStore } from "../stores/toasts";
import { apiError, mockFetch, routes, type RecordedRequest } from "../testing/fetch";
import { anAccount, anOrder, anOrderUpdate, aSummary } from "../testing/fixtures";
import { useLiveUpdates, type Connect } from "./useLiveUpdates";
import { freshStores } from "../testing/stores";

/** Just enough of a socket.io client socket: listeners, a trigger, and the calls we assert on. */
class FakeSocket {
	active = true;
	connected = false;
	listeners = new Map<string, ((...args: unknown[]) => void)[]>();
	disconnect = vi.fn(() => {
		this.active = false;
	});
	connect = vi.fn();
	constructor(
		readonly url: string,
		readonly options: { path?: string; auth?: unknown },
	) {}
	on(event: string, fn: (...args: unknown[]) => void) {
		this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
		return this;
	}
	off() {
		this.listeners.clear();
		return this;
	}
	fire(event: string, ...args: unknown[]) {
		for (const fn of this.listeners.get(event) ?? []) fn(...args);
	}
}

let sockets: FakeSocket[];
let requests: RecordedRequest[];
let scope: EffectScope;
const connect: Connect = (url, options) => {
	const socket = new FakeSocket(url, options);
	sockets.push(socket);
	return socket as unknown as Socket;
};

/** The paths requested since the first `before` requests, sorted. */
const pathsSince = (before: number) =>
	requests
		.slice(before)
		.map(r => r.path)
		.sort();

function start() {
	scope = effectScope();
	scope.run(() => useLiveUpdates(connect));
}

beforeEach(() => {
	freshStores();
	sockets = [];
	({ requests } = mockFetch(
		routes({
			"GET /api/accounts/me": apiError(404, "ACCOUNT_NOT_FOUND", "Account not found"),
			"GET /api/orders": [200, [anOrder({ id: "order-1" })]],
		}),
	));
});

afterEach(() => {
	scope.stop();
	vi.useRealTimers();
});

describe("useLiveUpdates", () => {
	it("When started, then it opens one socket for the user with path /socket.io and shows connecting", () => {
		useSessionStore().setUserId(3);
		start();

		expect(sockets).toHaveLength(1);
		expect(sockets[0]?.url).toBe("http://localhost:8000");
		expect(sockets[0]?.options).toMatchObject({ path: "/socket.io", auth: { userId: 3 } });
		expect(useConnectionStore().state).toBe("connecting");
	});

	it("When the handshake fails, then the indicator shows disconnected with a readable reason and data still loads", async () => {
		start();

		sockets[0]?.fire("connect_error", new Error("xhr poll error"));

		const connection = useConnectionStore();
		expect(connection.state).toBe("disconnected");
		expect(connection.reason).toBe("unreachable");
		await vi.waitFor(() => expect(useOrdersStore().status).toBe("ready"));
	});

	it("When the server refuses the handshake, then it tries again later by itself", async () => {
		vi.useFakeTimers();
		start();
		const socket = sockets[0]!;
		socket.active = false;

		socket.fire("connect_error", new Error("Invalid user id"));
		expect(useConnectionStore().reason).toBe("Invalid user id");
		await vi.advanceTimersByTimeAsync(5000);

		expect(socket.connect).toHaveBeenCalledTimes(1);
	});

	it("When the socket (re)connects, then orders, account and the summary are read again", async () => {
		start();
		sockets[0]?.fire("connect");
		await vi.waitFor(() => expect(useOrdersStore().status).toBe("ready"));
		const before = requests.length;

		sockets[0]?.fire("disconnect", "transport close");
		expect(useConnectionStore().state).toBe("disconnected");
		sockets[0]?.fire("connect");

		expect(useConnectionStore().state).toBe("connected");
		await vi.waitFor(() =>
			expect(pathsSince(before)).toEqual([
				"/api/accounts/me",
				"/api/orders",
				"/api/orders/summary",
			]),
		);
	});

	it("When order.updated arrives, then the order's badge data changes", async () => {
		start();
		sockets[0]?.fire("connect");
		const orders = useOrdersStore();
		await vi.waitFor(() => expect(orders.status).toBe("ready"));

		sockets[0]?.fire(
			"order.updated",
			anOrderUpdate({
				orderId: "order-1",
				status: "CANCELLED",
				cancelReason: "ACCOUNT_NOT_FOUND",
				updatedAt: "2025-01-01T10:00:01.000Z",
			}),
		);

		expect(orders.orders[0]).toMatchObject({
			status: "CANCELLED",
			cancelReason: "ACCOUNT_NOT_FOUND",
		});
	});

	it("When order.updated says REFUNDED, then the summary and the account (balance, ledger) are read again", async () => {
		({ requests } = mockFetch(
			routes({
				"GET /api/accounts/me": [200, anAccount()],
				"GET /api/accounts/me/transactions": [200, []],
				"GET /api/orders": [200, [anOrder({ id: "order-1", status: "REFUNDING" })]],
				"GET /api/orders/summary": [200, aSummary({ REFUNDING: 1 })],
			}),
		));
		start();
		sockets[0]?.fire("connect");
		await vi.waitFor(() => expect(useSummaryStore().status).toBe("ready"));
		await vi.waitFor(() => expect(useAccountStore().status).toBe("ready"));
		const before = requests.length;

		sockets[0]?.fire(
			"order.updated",
			anOrderUpdate({
				orderId: "order-1",
				status: "REFUNDED",
				updatedAt: "2025-01-01T10:00:02.000Z",
			}),
		);

		await vi.waitFor(() =>
			expect(pathsSince(before)).toEqual([
				"/api/accounts/me",
				"/api/accounts/me/transactions",
				"/api/orders/summary",
			]),
		);
		expect(useOrdersStore().orders[0]?.status).toBe("REFUNDED");
	});

	it("When order.updated is for another user, then nothing is read", async () => {
		start();
		sockets[0]?.fire("connect");
		await vi.waitFor(() => expect(useOrdersStore().status).toBe("ready"));
		await new Promise(resolve => setTimeout(resolve, 0));
		const before = requests.length;

		sockets[0]?.fire(
			"order.updated",
			anOrderUpdate({ orderId: "order-1", userId: 2, updatedAt: "2025-01-01T10:00:02.000Z" }),
		);
		await new Promise(resolve => setTimeout(resolve, 0));

		expect(requests.slice(before)).toEqual([]);
	});

	it("When the user id changes, then the old socket is closed and a new one opens for the new user", async () => {
		start();
		const old = sockets[0]!;
		old.fire("connect");

		useSessionStore().setUserId(9);
		await nextTick();

		expect(old.disconnect).toHaveBeenCalled();
		expect(old.listeners.size).toBe(0);
		expect(sockets).toHaveLength(2);
		expect(sockets[1]?.options.auth).toEqual({ userId: 9 });
		expect(useConnectionStore().state).toBe("connecting");
		expect(useOrdersStore().orders).toEqual([]);
	});

	it("When the user id changes, then the previous user's toasts are gone", async () => {
		start();
		const toasts = useToastsStore();
		toasts.success("Order 1a2b3c… finished");

		useSessionStore().setUserId(9);
		await nextTick();

		expect(toasts.toasts).toEqual([]);
	});
});

describe("useLiveUpdates in jwt mode", () => {
	it("When dev tokens are on, then the handshake asks for a token on every connect and a drop at expiry reconnects at once", async () => {
		const session = useSessionStore();
		session.mode = "jwt";
		session.devTokens = true;
		session.accessToken = vi.fn(async () => "token-1");
		start();
		const socket = sockets[0]!;
		const auth = socket.options.auth as (cb: (data: object) => void) => void;
		expect(typeof auth).toBe("function");
		const data = await new Promise(resolve => auth(resolve));
		expect(data).toEqual({ token: "token-1" });

		socket.active = false;
		socket.fire("disconnect", "io server disconnect");
		expect(socket.connect).toHaveBeenCalledTimes(1);
	});

	it("When a token must be pasted and none is, then no socket opens and the indicator says why", () => {
		const session = useSessionStore();
		session.mode = "jwt";
		session.devTokens = false;
		start();
		expect(sockets).toHaveLength(0);
		expect(useConnectionStore().reason).toBe("signIn");
	});
});
