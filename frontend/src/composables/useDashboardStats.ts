import { computed } from "vue";
import { t } from "../i18n";
import { money } from "../i18n/format";
import type { IconName } from "../lib/icons";
import { useAccountStore } from "../stores/account";
import { useSummaryStore } from "../stores/summary";

export interface StatCardData {
	testid: string;
	label: string;
	icon: IconName;
	value: string;
	hint: string;
	/** Until the figure is there, the card shows skeletons, never a blank or a made-up 0. */
	loading: boolean;
}

/**
 * The four dashboard cards: the balance from the account, the rest from the server's order
 * summary (all of the user's orders, not only the pages the lists have read).
 */
export function useStatCards() {
	const account = useAccountStore();
	const summary = useSummaryStore();

	return computed<StatCardData[]>(() => {
		const unavailable = { value: "—", hint: t("dashboard.unavailable") };
		const accountLoading = account.status === "idle" || account.status === "loading";
		const balance = account.account?.balance ?? null;
		const balanceCard: StatCardData = {
			testid: "stat-balance",
			label: t("dashboard.balance"),
			icon: "wallet",
			loading: accountLoading,
			...(account.status === "error"
				? unavailable
				: balance === null
					? { value: "—", hint: t("dashboard.noAccount") }
					: { value: money(balance), hint: t("dashboard.availableNow") }),
		};

		const s = summary.summary;
		// A refresh keeps the figures on screen; only the first read shows skeletons.
		const loading = !s && summary.status !== "error";
		const card = (
			base: Omit<StatCardData, "loading" | "value" | "hint">,
			fill: () => { value: string; hint: string },
		): StatCardData => ({
			...base,
			loading,
			...(s ? fill() : loading ? { value: "", hint: "" } : unavailable),
		});
		const total = s?.total ?? 0;
		const finished = s?.byStatus.FINISHED ?? 0;
		const refunded = (s?.byStatus.REFUNDED ?? 0) + (s?.byStatus.REFUNDING ?? 0);

		return [
			balanceCard,
			card({ testid: "stat-total-orders", label: t("dashboard.totalOrders"), icon: "bag" }, () => ({
				value: String(total),
				hint: [
					t("dashboard.cancelled", { n: s?.byStatus.CANCELLED ?? 0 }),
					...(refunded ? [t("dashboard.refunded", { n: refunded })] : []),
				].join(" · "),
			})),
			card(
				{ testid: "stat-finished-orders", label: t("dashboard.finishedOrders"), icon: "check" },
				() => ({
					value: String(finished),
					hint: total
						? t("dashboard.share", { percent: Math.round((finished * 100) / total) })
						: t("dashboard.noOrders"),
				}),
			),
			card({ testid: "stat-total-spent", label: t("dashboard.totalSpent"), icon: "chart" }, () => ({
				value: money(s?.spent ?? 0),
				hint: t("dashboard.spentHint"),
			})),
		];
	});
}
