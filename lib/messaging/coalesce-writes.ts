import type { Socket } from "net";

const coalesced = new WeakSet<Socket>();

/**
 * Makes the socket of an amqplib connection send what is written in one tick as one write.
 * amqplib writes every frame with its own `socket.write`: the publishes of a relay round, the
 * acks of a consumer batch, the RPC responses of a group commit each cost a syscall and a TCP
 * segment that the broker then reads and handles one by one (measured with --cpu-prof: socket
 * writes were a fifth of each node's busy time). Corked until the end of the current tick,
 * they leave as one writev. Nothing waits longer than that tick.
 */
export function coalesceWrites(model: unknown): void {
	const socket = (model as { connection?: { stream?: Socket } } | null)?.connection?.stream;
	if (!socket || typeof socket.cork !== "function" || coalesced.has(socket)) return;
	coalesced.add(socket);
	const write = socket.write;
	let corked = false;
	const uncork = () => {
		corked = false;
		socket.uncork();
	};
	socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
		if (!corked) {
			corked = true;
			socket.cork();
			process.nextTick(uncork);
		}
		return write.apply(this, args as never);
	} as Socket["write"];
}
