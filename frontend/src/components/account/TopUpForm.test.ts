import { mount } from "@vue/test-utils";
import { type Pinia } from "pinia";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { mockFetch, routes } from "../../testing/fetch";
import { anAccount } from "../../testing/fixtures";
import TopUpForm from "./TopUpForm.vue";
import { freshStores } from "../../testing/stores";

let pinia: Pinia;

beforeEach(() => {
	pinia = freshStores();
});

function mountForm() {
	return mount(TopUpForm, { global: { plugins: [pinia] } });
}

describe("TopUpForm", () => {
	it("When the amount has three decimals, then it says so inline and sends nothing", async () => {
		const { requests } = mockFetch(() => [200, {}]);
		const wrapper = mountForm();

		await wrapper.get('[data-testid="topup-amount"]').setValue("10.555");
		await wrapper.get("form").trigger("submit");

		expect(wrapper.get('[data-testid="topup-amount-error"]').text()).toBe(
			"At most 2 decimal places",
		);
		expect(requests).toHaveLength(0);
	});

	it("When submitted empty, then it asks for an amount", async () => {
		mockFetch(() => [200, {}]);
		const wrapper = mountForm();

		await wrapper.get("form").trigger("submit");

		expect(wrapper.get('[data-testid="topup-amount-error"]').text()).toBe("Enter an amount");
	});

	it("When 150.50 is submitted, then 15050 kopecks are sent and the field clears", async () => {
		const { requests } = mockFetch(
			routes({
				"POST /api/accounts/me/top-ups": [200, anAccount({ balance: 15050 })],
				"GET /api/accounts/me": [200, anAccount({ balance: 15050 })],
				"GET /api/accounts/me/transactions": [200, []],
			}),
		);
		const wrapper = mountForm();
		const input = wrapper.get<HTMLInputElement>('[data-testid="topup-amount"]');

		await input.setValue("150.50");
		await wrapper.get("form").trigger("submit");

		await vi.waitFor(() => expect(input.element.value).toBe(""));
		expect(requests[0]?.body).toEqual({ amount: 15050 });
	});
});
