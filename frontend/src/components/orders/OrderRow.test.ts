import { mount } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import { anOrder } from "../../testing/fixtures";
import OrderRow from "./OrderRow.vue";

describe("OrderRow", () => {
	it("When an order was cancelled for lack of funds, then the badge and a readable reason show", () => {
		const order = anOrder({
			status: "CANCELLED",
			cancelReason: "INSUFFICIENT_FUNDS",
			amount: 123456,
		});

		const wrapper = mount(OrderRow, { props: { order } });

		const row = wrapper.get('[data-testid="order-row"]');
		expect(row.attributes("data-order-id")).toBe(order.id);
		expect(row.attributes("data-status")).toBe("CANCELLED");
		expect(wrapper.get('[data-testid="order-status"]').text()).toBe("Cancelled");
		expect(wrapper.get('[data-testid="order-cancel-reason"]').text()).toBe("Insufficient funds");
		expect(wrapper.text()).toContain("1,234.56 ₽");
	});

	it("When an order is still new, then there is no cancel reason", () => {
		const wrapper = mount(OrderRow, { props: { order: anOrder() } });

		expect(wrapper.get('[data-testid="order-status"]').text()).toBe("New");
		expect(wrapper.find('[data-testid="order-cancel-reason"]').exists()).toBe(false);
	});
});
