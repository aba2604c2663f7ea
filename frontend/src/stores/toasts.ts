import { defineStore } from "pinia";
import { ref } from "vue";

export type ToastKind = "success" | "error" | "info";

export interface Toast {
	id: number;
	kind: ToastKind;
	message: string;
}

const LIFETIME_MS: Record<ToastKind, number> = { success: 4000, info: 4000, error: 7000 };
const MAX_VISIBLE = 5;

export const useToastsStore = defineStore("toasts", () => {
	const toasts = ref<Toast[]>([]);
	const timers = new Map<number, ReturnType<typeof setTimeout>>();
	let nextId = 1;

	function dismiss(id: number): void {
		clearTimeout(timers.get(id));
		timers.delete(id);
		toasts.value = toasts.value.filter(t => t.id !== id);
	}

	function schedule(toast: Toast): void {
		clearTimeout(timers.get(toast.id));
		timers.set(
			toast.id,
			setTimeout(() => dismiss(toast.id), LIFETIME_MS[toast.kind]),
		);
	}

	/** Removes every toast, e.g. when the dashboard switches to another user. */
	function clear(): void {
		timers.forEach(clearTimeout);
		timers.clear();
		toasts.value = [];
	}

	/** Shows a toast; the same message already on screen is kept once and its timer restarted. */
	function push(kind: ToastKind, message: string): void {
		const existing = toasts.value.find(t => t.kind === kind && t.message === message);
		if (existing) return schedule(existing);
		const toast: Toast = { id: nextId++, kind, message };
		toasts.value = [...toasts.value, toast];
		schedule(toast);
		const overflow = toasts.value.length - MAX_VISIBLE;
		for (const old of toasts.value.slice(0, Math.max(0, overflow))) dismiss(old.id);
	}

	return {
		toasts,
		push,
		dismiss,
		clear,
		success: (message: string) => push("success", message),
		error: (message: string) => push("error", message),
		info: (message: string) => push("info", message),
	};
});
