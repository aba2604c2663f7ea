import { defineStore } from "pinia";
import { computed, ref } from "vue";
import * as api from "../lib/api";
import { coalesce } from "../lib/coalesce";
import { errorMessage } from "../lib/http";
import { FormIdempotencyKey } from "../lib/idempotency";
import { cancelReasonLabel, shortId } from "../lib/labels";
import type { Order, OrderStatus, OrderUpdatedEvent } from "../lib/types";
import { useSessionStore } from "./session";
import { useToastsStore } from "./toasts";

export type OrdersStatus = "idle" | "loading" | "ready" | "error";

// An order only ever moves NEW → FINISHED or NEW → CANCELLED, so a terminal status is never
// replaced by NEW, whichever of a push, a POST answer or a reload arrives last.
const isTerminal = (status: OrderStatus) => status !== "NEW";

function newer(current: Order | undefined, incoming: Order): Order {
	return current && isTerminal(current.status) && !isTerminal(incoming.status) ? current : incoming;
}

function byNewestFirst(a: Order, b: Order): number {
	return Date.parse(b.createdAt) - Date.parse(a.createdAt);
}

export const useOrdersStore = defineStore("orders", () => {
	const session = useSessionStore();
	const toasts = useToastsStore();

	const orders = ref<Order[]>([]);
	const status = ref<OrdersStatus>("idle");
	const loadError = ref("");
	const creating = ref(false);
	// Orders announced by a push before the list knew them, while their fetch is in flight.
	const fetching = new Set<string>();
	// Kept in the store, not the form, so a retry after switching tabs is still the same order.
	const formKey = new FormIdempotencyKey();
	let epoch = 0;

	const finished = computed(() => orders.value.filter(o => o.status === "FINISHED"));
	const totalSpent = computed(() => finished.value.reduce((sum, o) => sum + o.amount, 0));

	function reset(): void {
		epoch++;
		orders.value = [];
		status.value = "idle";
		loadError.value = "";
	}

	function upsert(order: Order): void {
		const index = orders.value.findIndex(o => o.id === order.id);
		if (index === -1) {
			orders.value = [order, ...orders.value].sort(byNewestFirst);
			return;
		}
		const next = [...orders.value];
		next[index] = newer(next[index], order);
		orders.value = next;
	}

	const load = coalesce(async () => {
		const started = epoch;
		if (status.value !== "ready") status.value = "loading";
		try {
			const fetched = await api.fetchOrders(session.userId);
			if (started !== epoch) return;
			const known = new Map(orders.value.map(o => [o.id, o]));
			orders.value = fetched.map(o => newer(known.get(o.id), o));
			status.value = "ready";
		} catch (err) {
			if (started !== epoch) return;
			loadError.value = errorMessage(err);
			if (status.value !== "ready") status.value = "error";
			toasts.error(loadError.value);
		}
	});

	async function create(amount: number, description: string): Promise<boolean> {
		if (creating.value) return false;
		creating.value = true;
		const started = epoch;
		const key = formKey.for({ userId: session.userId, amount, description });
		try {
			const order = await api.createOrder(session.userId, amount, description, key);
			formKey.confirmed();
			if (started !== epoch) return false;
			upsert(order);
			return true;
		} catch (err) {
			toasts.error(errorMessage(err));
			return false;
		} finally {
			creating.value = false;
		}
	}

	async function fetchUnknown(orderId: string): Promise<void> {
		const started = epoch;
		fetching.add(orderId);
		try {
			const order = await api.fetchOrder(session.userId, orderId);
			if (started === epoch) upsert(order);
		} catch {
			// The next reload brings it; a toast for this background read would only confuse.
		} finally {
			fetching.delete(orderId);
		}
	}

	function announce(event: OrderUpdatedEvent): void {
		const name = `Order ${shortId(event.orderId)}`;
		if (event.status === "FINISHED") toasts.success(`${name} finished`);
		if (event.status === "CANCELLED") {
			const reason = cancelReasonLabel(event.cancelReason);
			toasts.error(`${name} cancelled${reason ? `: ${reason}` : ""}`);
		}
	}

	/** Applies an `order.updated` push; returns whether it changed anything. */
	function applyUpdate(event: OrderUpdatedEvent): boolean {
		if (Number(event.userId) !== session.userId) return false;
		const current = orders.value.find(o => o.id === event.orderId);
		if (current && (current.status === event.status || isTerminal(current.status))) return false;
		if (!current && fetching.has(event.orderId)) return false;
		if (current) {
			upsert({
				...current,
				status: event.status,
				amount: event.amount,
				cancelReason: event.cancelReason ?? null,
				updatedAt: event.updatedAt,
			});
		} else {
			void fetchUnknown(event.orderId);
		}
		announce(event);
		return true;
	}

	return {
		orders,
		status,
		loadError,
		creating,
		finished,
		totalSpent,
		reset,
		load,
		create,
		applyUpdate,
	};
});
