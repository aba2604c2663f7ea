import { mount } from "@vue/test-utils";
import { type Pinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import { useSessionStore } from "../../stores/session";
import UserIdInput from "./UserIdInput.vue";
import { freshStores } from "../../testing/stores";

let pinia: Pinia;

beforeEach(() => {
	pinia = freshStores();
});

describe("UserIdInput", () => {
	it.each(["abc", "0", "-3", "1.5", ""])(
		"When %j is entered, then an inline error shows and the user stays the same",
		async text => {
			const wrapper = mount(UserIdInput, { global: { plugins: [pinia] } });
			const input = wrapper.get('[data-testid="user-id"]');

			await input.setValue(text);
			await input.trigger("keydown", { key: "Enter" });

			expect(wrapper.find('[data-testid="user-id-error"]').exists()).toBe(true);
			expect(input.attributes("aria-invalid")).toBe("true");
			expect(useSessionStore().userId).toBe(1);
		},
	);

	it("When a positive integer is entered with Enter, then it becomes the user and is remembered", async () => {
		const wrapper = mount(UserIdInput, { global: { plugins: [pinia] } });
		const input = wrapper.get('[data-testid="user-id"]');

		await input.setValue("42");
		await input.trigger("keydown", { key: "Enter" });

		expect(useSessionStore().userId).toBe(42);
		expect(localStorage.getItem("gozon.userId")).toBe("42");
		expect(wrapper.find('[data-testid="user-id-error"]').exists()).toBe(false);
	});
});
