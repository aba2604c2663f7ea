import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { onScopeDispose, watch } from "vue";
import { apiBaseUrl } from "../lib/config";
import type { OrderUpdatedEvent } from "../lib/types";
import { useAccountStore } from "../stores/account";
import { useConnectionStore } from "../stores/connection";
import { useOrdersStore } from "../stores/orders";
import { useSessionStore } from "../stores/session";

export type Connect = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

const RETRY_MS = 5000;

const DISCONNECT_REASONS: Record<string, string> = {
	"io server disconnect": "The server closed the connection",
	"transport close": "Connection lost",
	"transport error": "Connection error",
	"ping timeout": "The server stopped responding",
	"parse error": "Received a malformed packet",
};

/**
 * Keeps one socket.io connection for the current user and the stores in step with it.
 * A push is a notification, not the record: every (re)connect re-reads orders and account,
 * so changes made while the socket was down are never missed.
 */
export function useLiveUpdates(connect: Connect = io): void {
	const session = useSessionStore();
	const connection = useConnectionStore();
	const account = useAccountStore();
	const orders = useOrdersStore();

	let socket: Socket | null = null;
	let retry: ReturnType<typeof setTimeout> | undefined;

	function refresh(): void {
		void account.load();
		void orders.load();
	}

	// The client retries transport failures by itself, but not after the server refused the
	// handshake or closed the socket on purpose; then it is up to us.
	function retryIfIdle(s: Socket): void {
		if (s.active) return;
		clearTimeout(retry);
		retry = setTimeout(() => s.connect(), RETRY_MS);
	}

	function open(userId: number): void {
		connection.set("connecting");
		const s = connect(apiBaseUrl(), { path: "/socket.io", auth: { userId } });
		s.on("connect", () => {
			connection.set("connected");
			refresh();
		});
		s.on("disconnect", (reason: string) => {
			connection.set("disconnected", DISCONNECT_REASONS[reason] ?? reason);
			retryIfIdle(s);
		});
		s.on("connect_error", (err: Error) => {
			connection.set("disconnected", err.message || "Cannot reach the server");
			retryIfIdle(s);
		});
		s.on("order.updated", (event: OrderUpdatedEvent) => {
			if (orders.applyUpdate(event) && event.status === "FINISHED") void account.load();
		});
		socket = s;
	}

	function close(): void {
		clearTimeout(retry);
		if (!socket) return;
		socket.off();
		socket.disconnect();
		socket = null;
	}

	watch(
		() => session.userId,
		userId => {
			close();
			account.reset();
			orders.reset();
			refresh();
			open(userId);
		},
		{ immediate: true },
	);

	onScopeDispose(close);
}
