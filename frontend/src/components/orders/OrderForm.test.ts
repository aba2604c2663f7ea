import { mount } from "@vue/test-utils";
import { type Pinia } from "pinia";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useOrdersStore } from "../../stores/orders";
import { apiError, type FakeAnswer, mockFetch, routes } from "../../testing/fetch";
import { anOrder } from "../../testing/fixtures";
import OrderForm from "./OrderForm.vue";
import { freshStores } from "../../testing/stores";

let pinia: Pinia;

beforeEach(() => {
	pinia = freshStores();
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

	it("When placing an order fails and the shopper clicks again, then the retry carries the same Idempotency-Key, and the next order a new one", async () => {
		const answers: FakeAnswer[] = [
			apiError(500, "INTERNAL", "Something broke"),
			[202, anOrder()],
			[202, anOrder()],
		];
		const { requests } = mockFetch(routes({ "POST /api/orders": () => answers.shift()! }));
		// A placed order also re-reads the summary: only the POSTs matter here.
		const posts = () => requests.filter(r => r.method === "POST");
		const wrapper = mount(OrderForm, { global: { plugins: [pinia] } });
		const description = wrapper.get<HTMLTextAreaElement>('[data-testid="order-description"]');
		const orders = useOrdersStore();
		const keys = () => posts().map(r => r.headers["Idempotency-Key"]);

		await wrapper.get('[data-testid="order-amount"]').setValue("10");
		await description.setValue("Tea");
		await wrapper.get("form").trigger("submit");
		await vi.waitFor(() => expect(posts()).toHaveLength(1));
		await vi.waitFor(() => expect(orders.creating).toBe(false));
		expect(description.element.value).toBe("Tea");

		await wrapper.get("form").trigger("submit");
		await vi.waitFor(() => expect(description.element.value).toBe(""));
		expect(posts()).toHaveLength(2);
		expect(keys()[0]).toMatch(/^[0-9a-f-]{36}$/);
		expect(keys()[1]).toBe(keys()[0]);

		await wrapper.get('[data-testid="order-amount"]').setValue("10");
		await description.setValue("Tea");
		await wrapper.get("form").trigger("submit");
		await vi.waitFor(() => expect(posts()).toHaveLength(3));
		expect(keys()[2]).not.toBe(keys()[0]);
	});

	it("When the shopper changes the form after a failure, then the changed order gets a new Idempotency-Key", async () => {
		const answers: FakeAnswer[] = [apiError(500, "INTERNAL", "Something broke"), [202, anOrder()]];
		const { requests } = mockFetch(routes({ "POST /api/orders": () => answers.shift()! }));
		const wrapper = mount(OrderForm, { global: { plugins: [pinia] } });
		const description = wrapper.get<HTMLTextAreaElement>('[data-testid="order-description"]');

		await wrapper.get('[data-testid="order-amount"]').setValue("10");
		await description.setValue("Tea");
		await wrapper.get("form").trigger("submit");
		await vi.waitFor(() => expect(useOrdersStore().creating).toBe(false));
		await wrapper.get('[data-testid="order-amount"]').setValue("11");
		await wrapper.get("form").trigger("submit");
		await vi.waitFor(() => expect(requests).toHaveLength(2));
		expect(requests[1]?.headers["Idempotency-Key"]).not.toBe(
			requests[0]?.headers["Idempotency-Key"],
		);
	});
});
