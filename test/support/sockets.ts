import { strict as assert } from "assert";
import { io, Socket } from "socket.io-client";
import type { OrderUpdated } from "../../lib/contracts";
import { eventually } from "./http";
import type { Api } from "./shop";

/**
 * A header-mode socket of `userId` on the gateway at `url`, connected, collecting its
 * `order.updated` events; pushed onto `open` so the test's cleanup disconnects it.
 */
export async function connectUserSocket(
	url: string,
	userId: number,
	open: Socket[],
): Promise<{ socket: Socket; events: OrderUpdated[] }> {
	const socket = io(url, {
		path: "/socket.io",
		auth: { userId },
		forceNew: true,
		reconnection: false,
	});
	open.push(socket);
	return connectedWithUpdates(socket);
}

/** Waits until `socket` connects (rejects with its connect_error), collecting its `order.updated` events from the start. */
export async function connectedWithUpdates(
	socket: Socket,
): Promise<{ socket: Socket; events: OrderUpdated[] }> {
	const events: OrderUpdated[] = [];
	socket.on("order.updated", (e: OrderUpdated) => events.push(e));
	await new Promise<void>((resolve, reject) => {
		socket.once("connect", resolve);
		socket.once("connect_error", reject);
	});
	return { socket, events };
}

/**
 * A header-mode socket of `userId` on the gateway at `url`, over WebSocket only and never
 * reconnecting, handshake under way; pushed onto `open` so the test's cleanup disconnects it.
 */
export function openUserSocket(url: string, userId: number, open: Socket[]): Socket {
	const socket = io(url, {
		path: "/socket.io",
		auth: { userId },
		forceNew: true,
		reconnection: false,
		transports: ["websocket"],
	});
	open.push(socket);
	return socket;
}

/** Resolves with undefined once the socket connects, or with its connect_error's message. */
export function handshake(socket: Socket): Promise<string | undefined> {
	return new Promise(resolve => {
		socket.once("connect", () => resolve(undefined));
		socket.once("connect_error", err => resolve(err.message));
	});
}

/**
 * Places orders of 1 for `userId` until one's FINISHED push reaches `events` within 1.5 s, and
 * returns the ids of all it placed. After an outage a gateway's subscriber comes back on its
 * own schedule, and an order placed before it is subscribed again is never pushed (pushes are
 * notifications).
 */
export async function untilAnOrderIsPushed(
	api: Api,
	userId: number,
	events: OrderUpdated[],
	what: string,
): Promise<string[]> {
	const placed: string[] = [];
	await eventually(
		async () => {
			const order = await api("POST", "/api/orders", {
				userId,
				body: { amount: 1, description: "pushed" },
			});
			assert.equal(order.status, 202);
			placed.push(order.body.id);
			const deadline = Date.now() + 1500;
			while (Date.now() < deadline) {
				if (events.some(e => e.orderId === order.body.id && e.status === "FINISHED")) return true;
				await new Promise(r => setTimeout(r, 50));
			}
			return false;
		},
		what,
		15_000,
		0,
	);
	return placed;
}
