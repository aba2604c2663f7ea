import { defineStore } from "pinia";
import { ref } from "vue";

export type ConnectionState = "connecting" | "connected" | "disconnected";

/** The live channel's state, as the header shows it. */
export const useConnectionStore = defineStore("connection", () => {
	const state = ref<ConnectionState>("connecting");
	const reason = ref("");

	function set(next: ConnectionState, why = ""): void {
		state.value = next;
		reason.value = why;
	}

	return { state, reason, set };
});
