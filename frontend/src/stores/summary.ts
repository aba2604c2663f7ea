import { defineStore } from "pinia";
import { ref } from "vue";
import * as api from "../lib/api";
import { coalesce } from "../lib/coalesce";
import type { OrderSummary } from "../lib/types";
import { useSessionStore } from "./session";

export type SummaryStatus = "idle" | "loading" | "ready" | "error";

/**
 * The Dashboard tab's totals, counted by the server over all of the user's orders (the lists
 * only hold the pages read so far). Re-read on every order.updated and (re)connect.
 */
export const useSummaryStore = defineStore("summary", () => {
	const session = useSessionStore();

	const summary = ref<OrderSummary | null>(null);
	const status = ref<SummaryStatus>("idle");
	let epoch = 0;

	function reset(): void {
		epoch++;
		summary.value = null;
		status.value = "idle";
	}

	// A failure shows on the cards ("Couldn't load"); the orders list already toasts the same
	// outage, so no toast here.
	const load = coalesce(async () => {
		const started = epoch;
		if (status.value !== "ready") status.value = "loading";
		try {
			const fresh = await api.fetchOrderSummary(session.userId);
			if (started !== epoch) return;
			summary.value = fresh;
			status.value = "ready";
		} catch {
			if (started === epoch && status.value !== "ready") status.value = "error";
		}
	});

	return { summary, status, reset, load };
});
