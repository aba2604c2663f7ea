import { mount } from "@vue/test-utils";
import { type Pinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import { setLocale } from "../../i18n";
import type { Order } from "../../lib/types";
import { useOrdersStore } from "../../stores/orders";
import { useSessionStore } from "../../stores/session";
import { mockFetch, routes } from "../../testing/fetch";
import { anOrder } from "../../testing/fixtures";
import { plain } from "../../testing/text";
import OrderRow from "./OrderRow.vue";
import { freshStores } from "../../testing/stores";

let pinia: Pinia;

beforeEach(() => {
	pinia = freshStores();
	useSessionStore().setUserId(1);
});

const mountRow = (order: Order) =>
	mount(OrderRow, { props: { order }, global: { plugins: [pinia] } });
const byId = (wrapper: ReturnType<typeof mountRow>, id: string) =>
	wrapper.find(`[data-testid="${id}"]`);

describe("OrderRow", () => {
	it("When an order was cancelled for lack of funds, then the badge and a readable reason show, and no refund", () => {
		const order = anOrder({
			status: "CANCELLED",
			cancelReason: "INSUFFICIENT_FUNDS",
			amount: 123456,
		});

		const wrapper = mountRow(order);

		const row = wrapper.get('[data-testid="order-row"]');
		expect(row.attributes("data-order-id")).toBe(order.id);
		expect(row.attributes("data-status")).toBe("CANCELLED");
		expect(wrapper.get('[data-testid="order-status"]').text()).toBe("Cancelled");
		expect(wrapper.get('[data-testid="order-cancel-reason"]').text()).toBe("Insufficient funds");
		expect(plain(wrapper.text())).toContain("1,234.56 ₽");
		expect(byId(wrapper, "order-refund").exists()).toBe(false);
	});

	it.each([
		["NEW", "New"],
		["REFUNDING", "Refunding"],
		["REFUNDED", "Refunded"],
	] as const)(
		"When an order is %s, then its badge says %s and there is no refund button",
		(status, label) => {
			const wrapper = mountRow(anOrder({ status }));

			expect(wrapper.get('[data-testid="order-status"]').text()).toBe(label);
			expect(wrapper.get('[data-testid="order-status"]').classes()).toContain(
				`badge--${status.toLowerCase()}`,
			);
			expect(byId(wrapper, "order-cancel-reason").exists()).toBe(false);
			expect(byId(wrapper, "order-refund").exists()).toBe(false);
		},
	);

	it("When Refund is clicked on a finished order, then it asks first, and Keep sends nothing", async () => {
		const { requests } = mockFetch(() => [500, {}]);
		const wrapper = mountRow(anOrder({ status: "FINISHED", amount: 2500 }));

		await byId(wrapper, "order-refund").trigger("click");

		expect(plain(byId(wrapper, "order-refund-confirmation").text())).toContain(
			"Return 25.00 ₽ to the balance?",
		);
		await byId(wrapper, "order-refund-keep").trigger("click");
		expect(byId(wrapper, "order-refund-confirmation").exists()).toBe(false);
		expect(byId(wrapper, "order-refund").exists()).toBe(true);
		expect(requests).toEqual([]);
	});

	it("When the refund is confirmed, then the buttons wait for the answer and the question closes on 202", async () => {
		let release: () => void = () => {};
		const gate = new Promise<void>(resolve => (release = resolve));
		const order = anOrder({ status: "FINISHED" });
		const { fetchMock } = mockFetch(
			routes({
				[`POST /api/orders/${order.id}/refund`]: [202, { ...order, status: "REFUNDING" }],
				"GET /api/orders/summary": [500, {}],
			}),
		);
		const answer = fetchMock.getMockImplementation()!;
		fetchMock.mockImplementationOnce(async (...args) => {
			await gate;
			return answer(...args);
		});
		useOrdersStore().orders = [order];
		const wrapper = mountRow(order);

		await byId(wrapper, "order-refund").trigger("click");
		await byId(wrapper, "order-refund-confirm").trigger("click");

		expect(byId(wrapper, "order-refund-confirm").attributes("disabled")).toBeDefined();
		expect(byId(wrapper, "order-refund-confirm").attributes("aria-busy")).toBe("true");
		expect(byId(wrapper, "order-refund-keep").attributes("disabled")).toBeDefined();
		release();
		await new Promise(resolve => setTimeout(resolve, 0));
		await wrapper.setProps({ order: useOrdersStore().orders[0]! });

		expect(byId(wrapper, "order-refund-confirmation").exists()).toBe(false);
		expect(wrapper.get('[data-testid="order-status"]').text()).toBe("Refunding");
	});

	it("When the page is in Russian, then the status, the amount and the refund question are Russian", async () => {
		setLocale("ru");
		const wrapper = mountRow(anOrder({ status: "FINISHED", amount: 123456 }));

		expect(wrapper.get('[data-testid="order-status"]').text()).toBe("Оплачен");
		expect(plain(wrapper.get('[data-testid="order-row-amount"]').text())).toBe("1 234,56 ₽");
		await byId(wrapper, "order-refund").trigger("click");
		expect(plain(byId(wrapper, "order-refund-confirmation").text())).toContain(
			"Вернуть 1 234,56 ₽ на баланс?",
		);
	});
});
