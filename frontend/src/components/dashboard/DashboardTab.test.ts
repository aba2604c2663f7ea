import { mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import { useAccountStore } from "../../stores/account";
import { useOrdersStore } from "../../stores/orders";
import { anAccount, anOrder } from "../../testing/fixtures";
import DashboardTab from "./DashboardTab.vue";

let pinia: ReturnType<typeof createPinia>;

beforeEach(() => {
	pinia = createPinia();
	setActivePinia(pinia);
});

const stat = (wrapper: ReturnType<typeof mount>, id: string) =>
	wrapper.get(`[data-testid="stat-${id}"]`).text();

describe("DashboardTab", () => {
	it("When data is loaded, then the stats are computed from it, spent counting only finished orders", () => {
		Object.assign(useAccountStore(), { status: "ready", account: anAccount({ balance: 123456 }) });
		Object.assign(useOrdersStore(), {
			status: "ready",
			orders: [
				anOrder({ id: "a", amount: 10, status: "FINISHED" }),
				anOrder({ id: "b", amount: 20, status: "FINISHED" }),
				anOrder({ id: "c", amount: 999, status: "CANCELLED" }),
				anOrder({ id: "d", amount: 5000, status: "NEW" }),
			],
		});

		const wrapper = mount(DashboardTab, { global: { plugins: [pinia] } });

		expect(stat(wrapper, "balance")).toBe("1,234.56 ₽");
		expect(stat(wrapper, "total-orders")).toBe("4");
		expect(stat(wrapper, "finished-orders")).toBe("2");
		expect(stat(wrapper, "total-spent")).toBe("0.30 ₽");
	});

	it("When the user has no account, then the balance shows a dash", () => {
		Object.assign(useAccountStore(), { status: "missing", account: null });
		Object.assign(useOrdersStore(), { status: "ready", orders: [] });

		const wrapper = mount(DashboardTab, { global: { plugins: [pinia] } });

		expect(stat(wrapper, "balance")).toBe("—");
		expect(stat(wrapper, "total-spent")).toBe("0.00 ₽");
	});
});
