import { strict as assert } from "assert";
import { expectAttribute, expectText, until } from "./support/browser";
import { themedFlow, useDashboard } from "./support/dashboard";

/**
 * The shopper's path in a real browser: a user id, an account, a top-up, an order paid live
 * and one refused live, then the Dashboard tab; once per theme, each for a fresh user.
 */
describe("Dashboard e2e: paying for orders, light and dark", () => {
	const d = useDashboard();

	const flow = themedFlow(d, "payment", async ({ theme, userId, shots }) => {
		const byId = (id: string) => d.byId(id);

		// Arrange: a fresh user id in the header, on the Account tab.
		await shots.shot("user-id");

		// Act + Assert: create the account.
		await byId("create-account").click();
		await expectText(byId("balance"), "0.00 ₽", "the balance");
		await d.expectToast("success", "Account created");
		await shots.shot("account-created");

		// Top up 100.00 ₽.
		await byId("topup-amount").fill("100");
		await byId("topup-submit").click();
		await expectText(byId("balance"), "100.00 ₽", "the balance");
		await d.expectToast("success", "Added 100.00 ₽");
		await until(
			() => byId("ledger-row").count(),
			n => n === 1,
			"one ledger row",
		);
		await expectAttribute(byId("ledger-row"), "data-kind", "TOP_UP", "the ledger row");
		await expectText(byId("ledger-amount"), "+100.00 ₽", "the ledger amount");
		await shots.shot("topped-up");

		// Order 25.00 ₽: NEW first, FINISHED when the push arrives, without a reload.
		await byId("tab-orders").click();
		await byId("orders-empty").waitFor();
		assert.equal(new URL(d.page.url()).hash, "#orders");
		const paid = await d.placeOrder("25", "Wireless headphones");
		const paidRow = d.orderRow(paid);
		await expectAttribute(paidRow, "data-status", "NEW", "the new order's row");
		await expectText(paidRow.getByTestId("order-status"), "New", "the badge");
		await d.untilPushHeld(userId, paid, "FINISHED");
		assert.equal(await paidRow.getAttribute("data-status"), "NEW", "no push, no change");
		await shots.shot("order-new");

		const readsBefore = d.orderReads.length;
		d.gate.release();
		await expectAttribute(paidRow, "data-status", "FINISHED", "the order's row");
		await expectText(paidRow.getByTestId("order-status"), "Finished", "the badge");
		await d.expectToast("success", `Order ${paid.slice(0, 6)}… finished`);
		assert.deepEqual(
			d.orderReads.slice(readsBefore).filter(path => path !== "/api/orders/summary"),
			[],
			"the push alone moved the badge (only the summary is read again)",
		);
		await d.assertNotReloaded();
		await shots.shot("order-finished");

		// Order 500.00 ₽ with 75.00 ₽ left: CANCELLED with its reason.
		const refused = await d.placeOrder("500", "Espresso machine");
		const refusedRow = d.orderRow(refused);
		await expectAttribute(refusedRow, "data-status", "NEW", "the new order's row");
		await d.untilPushHeld(userId, refused, "CANCELLED");
		d.gate.release();
		await expectAttribute(refusedRow, "data-status", "CANCELLED", "the order's row");
		await expectText(refusedRow.getByTestId("order-status"), "Cancelled", "the badge");
		await expectText(
			refusedRow.getByTestId("order-cancel-reason"),
			"Insufficient funds",
			"the cancel reason",
		);
		await d.expectToast("error", `Order ${refused.slice(0, 6)}… cancelled: Insufficient funds`);
		const rows = await byId("order-row").evaluateAll(els =>
			els.map(el => [el.getAttribute("data-order-id"), el.getAttribute("data-status")]),
		);
		assert.deepEqual(rows, [
			[refused, "CANCELLED"],
			[paid, "FINISHED"],
		]);
		await shots.doc("order-cancelled", `orders-${theme}`);

		// The Dashboard tab adds it up, from the server's summary.
		await byId("tab-dashboard").click();
		await expectText(byId("stat-balance"), "75.00 ₽", "the balance card");
		await expectText(byId("stat-total-orders"), "2", "the total orders card");
		await expectText(byId("stat-finished-orders"), "1", "the finished orders card");
		await expectText(byId("stat-total-spent"), "25.00 ₽", "the total spent card");
		await shots.doc("dashboard", `dashboard-${theme}`);

		await d.assertNotReloaded();
		d.assertNoConsoleErrors();
	});

	it("When a user funds an account and orders in the light theme, then the badges, toasts and stats follow live", () =>
		flow.light());

	it("When the theme is toggled to dark and a second user runs the same flow, then everything follows live in dark", () =>
		flow.dark());
});
