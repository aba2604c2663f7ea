import { computed } from "vue";
import { useAccountStore } from "../stores/account";
import { useOrdersStore } from "../stores/orders";

/** The dashboard's figures, computed from what the stores have loaded. */
export function useDashboardStats() {
	const account = useAccountStore();
	const orders = useOrdersStore();

	return {
		accountLoading: computed(() => account.status === "idle" || account.status === "loading"),
		accountFailed: computed(() => account.status === "error"),
		ordersLoading: computed(() => orders.status === "idle" || orders.status === "loading"),
		ordersFailed: computed(() => orders.status === "error"),
		balance: computed(() => account.account?.balance ?? null),
		totalOrders: computed(() => orders.orders.length),
		finishedOrders: computed(() => orders.finished.length),
		cancelledOrders: computed(() => orders.orders.filter(o => o.status === "CANCELLED").length),
		totalSpent: computed(() => orders.totalSpent),
	};
}
