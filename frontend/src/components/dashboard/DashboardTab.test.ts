import { mount } from "@vue/test-utils";
import { type Pinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { setLocale } from "../../i18n";
import { useAccountStore } from "../../stores/account";
import { useOrdersStore } from "../../stores/orders";
import { useSummaryStore } from "../../stores/summary";
import { anAccount, anOrder, aSummary } from "../../testing/fixtures";
import { plain } from "../../testing/text";
import DashboardTab from "./DashboardTab.vue";
import { freshStores } from "../../testing/stores";

let pinia: Pinia;

beforeEach(() => {
	pinia = freshStores();
});

const mountTab = () => mount(DashboardTab, { global: { plugins: [pinia] } });
type Wrapper = ReturnType<typeof mountTab>;
const stat = (wrapper: Wrapper, id: string) =>
	plain(wrapper.get(`[data-testid="stat-${id}"]`).text());
const STATS = ["balance", "total-orders", "finished-orders", "total-spent"];

describe("DashboardTab", () => {
	it("When the summary is loaded, then the totals are the server's, not a count of the orders listed", () => {
		Object.assign(useAccountStore(), { status: "ready", account: anAccount({ balance: 123456 }) });
		// One page of orders on the Orders tab; the user has 2,500 in all.
		Object.assign(useOrdersStore(), {
			status: "ready",
			orders: [anOrder({ id: "a", amount: 10, status: "FINISHED" })],
		});
		Object.assign(useSummaryStore(), {
			status: "ready",
			summary: aSummary({
				FINISHED: 2000,
				CANCELLED: 300,
				NEW: 100,
				REFUNDED: 100,
				spent: 987654321,
			}),
		});

		const wrapper = mountTab();

		expect(stat(wrapper, "balance")).toBe("1,234.56 ₽");
		expect(stat(wrapper, "total-orders")).toBe("2500");
		expect(stat(wrapper, "finished-orders")).toBe("2000");
		expect(stat(wrapper, "total-spent")).toBe("9,876,543.21 ₽");
		expect(wrapper.get('[data-testid="stat-total-orders-hint"]').text()).toBe(
			"300 cancelled · 100 refunded",
		);
		expect(wrapper.get('[data-testid="stat-finished-orders-hint"]').text()).toBe(
			"80% of all orders",
		);
		expect(wrapper.get('[data-testid="outcome-refunded"]').text()).toContain("100");
	});

	it("When the user has no account and no orders, then the balance shows a dash and spent zero", () => {
		Object.assign(useAccountStore(), { status: "missing", account: null });
		Object.assign(useSummaryStore(), { status: "ready", summary: aSummary() });

		const wrapper = mountTab();

		expect(stat(wrapper, "balance")).toBe("—");
		expect(stat(wrapper, "total-spent")).toBe("0.00 ₽");
		expect(wrapper.get('[data-testid="stat-finished-orders-hint"]').text()).toBe("No orders yet");
	});

	it("When nothing has arrived yet (a reload), then every card shows skeletons, never a blank figure or a caption alone", async () => {
		const wrapper = mountTab();

		for (const id of STATS) {
			expect(wrapper.find(`[data-testid="stat-${id}-loading"]`).exists()).toBe(true);
			expect(wrapper.find(`[data-testid="stat-${id}"]`).exists()).toBe(false);
			expect(wrapper.find(`[data-testid="stat-${id}-hint"]`).exists()).toBe(false);
		}

		// The account answers first: its card fills in, the others still wait for the summary.
		Object.assign(useAccountStore(), { status: "ready", account: anAccount({ balance: 500 }) });
		await nextTick();
		expect(stat(wrapper, "balance")).toBe("5.00 ₽");
		expect(wrapper.find('[data-testid="stat-total-orders-loading"]').exists()).toBe(true);

		Object.assign(useSummaryStore(), { status: "ready", summary: aSummary({ FINISHED: 1 }) });
		await nextTick();
		for (const id of STATS) {
			expect(wrapper.find(`[data-testid="stat-${id}-loading"]`).exists()).toBe(false);
			expect(stat(wrapper, id)).not.toBe("");
		}
	});

	it("When the summary is refreshed, then the old figures stay on screen instead of skeletons", async () => {
		const summary = useSummaryStore();
		Object.assign(summary, { status: "ready", summary: aSummary({ NEW: 1 }) });
		const wrapper = mountTab();

		summary.status = "loading";
		await nextTick();

		expect(stat(wrapper, "total-orders")).toBe("1");
	});

	it("When the summary cannot be read, then the cards say so instead of loading forever", () => {
		Object.assign(useSummaryStore(), { status: "error", summary: null });

		const wrapper = mountTab();

		expect(stat(wrapper, "total-orders")).toBe("—");
		expect(wrapper.get('[data-testid="stat-total-orders-hint"]').text()).toBe("Couldn't load");
	});

	it("When the page is in Russian, then labels and money are Russian", async () => {
		setLocale("ru");
		Object.assign(useAccountStore(), { status: "ready", account: anAccount({ balance: 123456 }) });
		Object.assign(useSummaryStore(), {
			status: "ready",
			summary: aSummary({ FINISHED: 3, CANCELLED: 1, spent: 250000 }),
		});

		const wrapper = mountTab();

		expect(stat(wrapper, "balance")).toBe("1 234,56 ₽");
		expect(stat(wrapper, "total-spent")).toBe("2 500,00 ₽");
		expect(wrapper.text()).toContain("Всего заказов");
		expect(wrapper.get('[data-testid="stat-finished-orders-hint"]').text()).toBe(
			"75% всех заказов",
		);
	});
});
