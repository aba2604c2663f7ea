import { defineStore } from "pinia";
import { ref } from "vue";

const STORAGE_KEY = "gozon.userId";

export function isValidUserId(value: number): boolean {
	return Number.isSafeInteger(value) && value >= 1;
}

function readSavedUserId(): number {
	try {
		const saved = Number(localStorage.getItem(STORAGE_KEY));
		return isValidUserId(saved) ? saved : 1;
	} catch {
		return 1;
	}
}

/** Who the dashboard acts as: the X-User-ID of every request and the socket's identity. */
export const useSessionStore = defineStore("session", () => {
	const userId = ref(readSavedUserId());

	function setUserId(next: number): void {
		if (!isValidUserId(next) || next === userId.value) return;
		userId.value = next;
		try {
			localStorage.setItem(STORAGE_KEY, String(next));
		} catch {
			// Private mode or a full quota: the id still applies for this visit.
		}
	}

	return { userId, setUserId };
});
