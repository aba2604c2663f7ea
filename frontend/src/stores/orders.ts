import { defineStore } from "pinia";
import { computed, ref } from "vue";
import { t } from "../i18n";
import { cancelReasonLabel, errorText, money } from "../i18n/format";
import * as api from "../lib/api";
import { coalesce } from "../lib/coalesce";
import { ApiError } from "../lib/http";
import { FormIdempotencyKey, IdempotencyKeys } from "../lib/idempotency";
import { shortId } from "../lib/labels";
import { loadNextPage, mayHaveMore, PAGE_SIZE, reloadLimit } from "../lib/paging";
import type { Order, OrderStatus, OrderUpdatedEvent } from "../lib/types";
import { useSessionStore } from "./session";
import { useSummaryStore } from "./summary";
import { useToastsStore } from "./toasts";

export type OrdersStatus = "idle" | "loading" | "ready" | "error";

// An order only moves forward: NEW → FINISHED → REFUNDING → REFUNDED, or NEW → CANCELLED.
// A status is never replaced by an earlier one, whichever of a push, a POST answer or a
// reload arrives last.
const STAGE: Record<OrderStatus, number> = {
	NEW: 0,
	FINISHED: 1,
	CANCELLED: 1,
	REFUNDING: 2,
	REFUNDED: 3,
};

function newer(current: Order | undefined, incoming: Order): Order {
	return current && STAGE[current.status] > STAGE[incoming.status] ? current : incoming;
}

function byNewestFirst(a: Order, b: Order): number {
	return Date.parse(b.createdAt) - Date.parse(a.createdAt);
}

export const useOrdersStore = defineStore("orders", () => {
	const session = useSessionStore();
	const toasts = useToastsStore();
	const summary = useSummaryStore();

	const orders = ref<Order[]>([]);
	const status = ref<OrdersStatus>("idle");
	const loadError = ref<unknown>(null);
	const hasMore = ref(false);
	const loadingMore = ref(false);
	const creating = ref(false);
	/** Ids of orders whose refund request is on its way. */
	const refunding = ref<ReadonlySet<string>>(new Set());
	// Orders announced by a push before the list knew them, while their fetch is in flight.
	const fetching = new Set<string>();
	// Kept in the store, not the form, so a retry after switching tabs is still the same order.
	const formKey = new FormIdempotencyKey();
	const refundKeys = new IdempotencyKeys();
	let epoch = 0;

	const finished = computed(() => orders.value.filter(o => o.status === "FINISHED"));

	function reset(): void {
		epoch++;
		orders.value = [];
		status.value = "idle";
		loadError.value = null;
		hasMore.value = false;
		loadingMore.value = false;
		refunding.value = new Set();
	}

	function upsert(order: Order): void {
		const index = orders.value.findIndex(o => o.id === order.id);
		if (index === -1) {
			// Older than every order shown while more pages wait: its own page will bring it,
			// and listing it now would make "load more" start after it and skip the rest.
			const last = orders.value.at(-1);
			if (hasMore.value && last && byNewestFirst(order, last) > 0) return;
			orders.value = [order, ...orders.value].sort(byNewestFirst);
			return;
		}
		const next = [...orders.value];
		next[index] = newer(next[index], order);
		orders.value = next;
	}

	function failed(err: unknown): void {
		loadError.value = err;
		if (status.value !== "ready") status.value = "error";
		toasts.error(errorText(err));
	}

	/** Re-reads every order on screen (at least the first page); what is shown stays meanwhile. */
	const load = coalesce(async () => {
		const started = epoch;
		if (status.value !== "ready") status.value = "loading";
		const limit = reloadLimit(orders.value.length);
		try {
			const fetched = await api.fetchOrders(session.userId, limit);
			if (started !== epoch) return;
			const known = new Map(orders.value.map(o => [o.id, o]));
			orders.value = fetched.map(o => newer(known.get(o.id), o));
			hasMore.value = mayHaveMore(fetched.length, limit);
			status.value = "ready";
		} catch (err) {
			if (started === epoch) failed(err);
		}
	});

	/** The next older page, after the last order shown. */
	function loadMore(): Promise<void> {
		const started = epoch;
		return loadNextPage(
			{ items: orders, hasMore, loadingMore },
			before => api.fetchOrders(session.userId, PAGE_SIZE, before),
			() => started === epoch,
			err => toasts.error(errorText(err)),
		);
	}

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
			void summary.load();
			return true;
		} catch (err) {
			toasts.error(errorText(err));
			return false;
		} finally {
			creating.value = false;
		}
	}

	function setRefunding(orderId: string, on: boolean): void {
		const next = new Set(refunding.value);
		if (on) next.add(orderId);
		else next.delete(orderId);
		refunding.value = next;
	}

	/**
	 * Asks for the refund of a FINISHED order; resolves true once the server took it (202,
	 * REFUNDING). The money comes back later, announced by an order.updated to REFUNDED.
	 */
	async function refund(orderId: string): Promise<boolean> {
		if (refunding.value.has(orderId)) return false;
		setRefunding(orderId, true);
		const started = epoch;
		const userId = session.userId;
		const key = refundKeys.for(`${userId}:${orderId}`);
		try {
			const order = await api.refundOrder(userId, orderId, key);
			refundKeys.confirmed(`${userId}:${orderId}`);
			if (started !== epoch) return false;
			upsert(order);
			void summary.load();
			toasts.info(t("orders.refundRequested", { id: shortId(orderId) }));
			return true;
		} catch (err) {
			if (started !== epoch) return false;
			toasts.error(errorText(err));
			// Refused because it moved on meanwhile (another tab refunded it): show where it is.
			if (err instanceof ApiError && err.type === "ORDER_NOT_REFUNDABLE") void fetchOne(orderId);
			return false;
		} finally {
			if (started === epoch) setRefunding(orderId, false);
		}
	}

	async function fetchOne(orderId: string): Promise<void> {
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
		const id = shortId(event.orderId);
		if (event.status === "FINISHED") toasts.success(t("orders.finished", { id }));
		if (event.status === "CANCELLED") {
			const reason = cancelReasonLabel(event.cancelReason);
			toasts.error(
				reason ? t("orders.cancelledBecause", { id, reason }) : t("orders.cancelled", { id }),
			);
		}
		if (event.status === "REFUNDED")
			toasts.success(t("orders.refunded", { id, amount: money(event.amount) }));
	}

	/** Applies an `order.updated` push; returns whether it changed anything. */
	function applyUpdate(event: OrderUpdatedEvent): boolean {
		if (Number(event.userId) !== session.userId) return false;
		const current = orders.value.find(o => o.id === event.orderId);
		if (current && STAGE[event.status] <= STAGE[current.status]) return false;
		if (!current && fetching.has(event.orderId)) return false;
		if (current) {
			upsert({
				...current,
				status: event.status,
				amount: event.amount,
				cancelReason: event.cancelReason ?? undefined,
				updatedAt: event.updatedAt,
			});
		} else {
			void fetchOne(event.orderId);
		}
		announce(event);
		return true;
	}

	return {
		orders,
		status,
		loadError,
		hasMore,
		loadingMore,
		creating,
		refunding,
		finished,
		reset,
		load,
		loadMore,
		create,
		refund,
		applyUpdate,
	};
});
