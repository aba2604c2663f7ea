import { mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { mockFetch, routes } from "../../testing/fetch";
import { anOrder } from "../../testing/fixtures";
import OrderForm from "./OrderForm.vue";

let pinia: ReturnType<typeof createPinia>;

beforeEach(() => {
	localStorage.clear();
	pinia = createPinia();
	setActivePinia(pinia);
});

describe("OrderForm", () => {
	it("When the description is empty or too long, then it says so and sends nothing", async () => {
		const { requests } = mockFetch(() => [202, anOrder()]);
		const wrapper = mount(OrderForm, { global: { plugins: [pinia] } });
		await wrapper.get('[data-testid="order-amount"]').setValue("10");

		await wrapper.get("form").trigger("submit");
		expect(wrapper.get('[data-testid="order-description-error"]').text()).toBe(
			"Describe the order",
		);

		await wrapper.get('[data-testid="order-description"]').setValue("x".repeat(501));
		await wrapper.get("form").trigger("submit");
		expect(wrapper.get('[data-testid="order-description-error"]').text()).toBe(
			"At most 500 characters",
		);
		expect(requests).toHaveLength(0);
	});

	it("When the form is valid, then the order is sent in kopecks with a trimmed description and the form clears", async () => {
		const { requests } = mockFetch(routes({ "POST /api/orders": [202, anOrder()] }));
		const wrapper = mount(OrderForm, { global: { plugins: [pinia] } });
		const description = wrapper.get<HTMLTextAreaElement>('[data-testid="order-description"]');

		await wrapper.get('[data-testid="order-amount"]').setValue("99.99");
		await description.setValue("  Cable  ");
		await wrapper.get("form").trigger("submit");

		await vi.waitFor(() => expect(description.element.value).toBe(""));
		expect(requests[0]?.body).toEqual({ amount: 9999, description: "Cable" });
	});
});
