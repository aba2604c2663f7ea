import { computed } from "vue";
import type { IconName } from "../lib/icons";
import { formatRubles } from "../lib/money";
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

export interface StatCardData {
	testid: string;
	label: string;
	icon: IconName;
	value: string;
	hint: string;
	loading: boolean;
}

const UNAVAILABLE = { value: "—", hint: "Couldn't load" };

/** The four dashboard cards, ready to render. */
export function useStatCards() {
	const s = useDashboardStats();

	return computed<StatCardData[]>(() => {
		const total = s.totalOrders.value;
		const finished = s.finishedOrders.value;
		const ordersCard = (card: Omit<StatCardData, "loading">): StatCardData => ({
			...card,
			...(s.ordersFailed.value ? UNAVAILABLE : {}),
			loading: s.ordersLoading.value,
		});
		const balance = s.balance.value;

		return [
			{
				testid: "stat-balance",
				label: "Balance",
				icon: "wallet",
				loading: s.accountLoading.value,
				...(s.accountFailed.value
					? UNAVAILABLE
					: balance === null
						? { value: "—", hint: "No account yet" }
						: { value: formatRubles(balance), hint: "Available now" }),
			},
			ordersCard({
				testid: "stat-total-orders",
				label: "Total orders",
				icon: "bag",
				value: String(total),
				hint: `${s.cancelledOrders.value} cancelled`,
			}),
			ordersCard({
				testid: "stat-finished-orders",
				label: "Finished orders",
				icon: "check",
				value: String(finished),
				hint: total ? `${Math.round((finished * 100) / total)}% of all orders` : "No orders yet",
			}),
			ordersCard({
				testid: "stat-total-spent",
				label: "Total spent",
				icon: "chart",
				value: formatRubles(s.totalSpent.value),
				hint: "Sum of finished orders",
			}),
		];
	});
}
