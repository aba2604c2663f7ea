import { io, Socket } from "socket.io-client";
import type { OrderUpdated } from "../../lib/contracts";

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
