import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { onScopeDispose, watch } from "vue";
import { apiBaseUrl } from "../lib/config";
import type { OrderUpdatedEvent } from "../lib/types";
import { useAccountStore } from "../stores/account";
import { useConnectionStore, type ConnectionReason } from "../stores/connection";
import { useOrdersStore } from "../stores/orders";
import { useSessionStore } from "../stores/session";
import { useSummaryStore } from "../stores/summary";
import { useToastsStore } from "../stores/toasts";

export type Connect = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

/** After the server refused or closed the socket, try again this often. */
const RETRY_MS = 5000;
/** Load the data even if the first handshake has neither succeeded nor failed by then. */
const FIRST_LOAD_WAIT_MS = 1500;

// socket.io's own wording for transport failures means nothing to a person: these are keys
// of connection.reasons in the messages, worded in the reader's language by the indicator.
const READABLE_REASONS: Record<string, ConnectionReason> = {
	"xhr poll error": "unreachable",
	"websocket error": "unreachable",
	timeout: "timeout",
	"io server disconnect": "serverClosed",
	"transport close": "lost",
	"transport error": "error",
	"ping timeout": "stopped",
	"parse error": "malformed",
};

/** A known reason's key, or the server's own sentence (a refused handshake says why). */
function readable(reason: string): string {
	return READABLE_REASONS[reason] ?? (reason || "unreachable");
}

/**
 * Keeps one socket.io connection for the current user (its identity per AUTH_MODE, see the
 * session store) and the stores in step with it.
 * A push is a notification, not the record: data is read once the socket is up and again on
 * every reconnect, so changes made while the socket was down are never missed.
 */
export function useLiveUpdates(connect: Connect = io): void {
	const session = useSessionStore();
	const connection = useConnectionStore();
	const account = useAccountStore();
	const orders = useOrdersStore();
	const summary = useSummaryStore();
	const toasts = useToastsStore();

	let socket: Socket | null = null;
	const timers = new Set<ReturnType<typeof setTimeout>>();

	function later(fn: () => void, ms: number): void {
		const timer = setTimeout(() => {
			timers.delete(timer);
			fn();
		}, ms);
		timers.add(timer);
	}

	function refresh(): void {
		void account.load();
		void orders.load();
		void summary.load();
	}

	function open(userId: number): void {
		let loaded = false;
		const loadOnce = () => {
			if (loaded) return;
			loaded = true;
			refresh();
		};
		// The client retries transport failures by itself, but not after the server refused the
		// handshake or closed the socket on purpose; then it is up to us.
		const retryIfIdle = () => {
			if (!s.active) later(() => s.connect(), RETRY_MS);
		};

		connection.set("connecting");
		// jwt mode: asked again on every (re)connect, so a reconnect carries a fresh token.
		const auth =
			session.mode === "jwt"
				? (cb: (data: object) => void) =>
						void session.accessToken().then(
							token => cb({ token }),
							() => cb({ token: "" }),
						)
				: { userId };
		const s = connect(apiBaseUrl(), { path: "/socket.io", auth });
		s.on("connect", () => {
			connection.set("connected");
			loaded = true;
			refresh();
		});
		s.on("disconnect", (reason: string) => {
			connection.set("disconnected", readable(reason));
			// In jwt mode the server closes a socket when its token expires: come back at once
			// with a fresh one (a pasted token that ran out signs the user out instead).
			if (reason === "io server disconnect" && session.mode === "jwt" && session.signedIn)
				s.connect();
			else retryIfIdle();
		});
		s.on("connect_error", (err: Error) => {
			connection.set("disconnected", readable(err.message));
			loadOnce();
			retryIfIdle();
		});
		s.on("order.updated", (event: OrderUpdatedEvent) => {
			if (Number(event.userId) !== session.userId) return;
			const changed = orders.applyUpdate(event);
			// A payment or a refund moved money: the balance and the ledger changed too.
			if (changed && (event.status === "FINISHED" || event.status === "REFUNDED"))
				void account.load();
			void summary.load();
		});
		later(loadOnce, FIRST_LOAD_WAIT_MS);
		socket = s;
	}

	function close(): void {
		timers.forEach(clearTimeout);
		timers.clear();
		if (!socket) return;
		socket.off();
		socket.disconnect();
		socket = null;
	}

	watch(
		() => [session.userId, session.signedIn] as const,
		([userId, signedIn]) => {
			close();
			account.reset();
			orders.reset();
			summary.reset();
			// "Order 1a2b3c… finished" on another user's screen would read as that user's order.
			toasts.clear();
			if (signedIn) open(userId);
			else connection.set("disconnected", "signIn");
		},
		{ immediate: true },
	);

	onScopeDispose(close);
}
