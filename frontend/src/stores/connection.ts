import { defineStore } from "pinia";
import { ref } from "vue";

import type { Messages } from "../i18n/messages/en";

export type ConnectionState = "connecting" | "connected" | "disconnected";

/** Why the channel is down, as a key of connection.reasons in the messages. */
export type ConnectionReason = keyof Messages["connection"]["reasons"];

/** The live channel's state, as the header shows it. */
export const useConnectionStore = defineStore("connection", () => {
	const state = ref<ConnectionState>("connecting");
	/** A ConnectionReason, or the server's own sentence when it refused the handshake. */
	const reason = ref("");

	function set(next: ConnectionState, why = ""): void {
		state.value = next;
		reason.value = why;
	}

	return { state, reason, set };
});
