import { strict as assert } from "assert";
import { expectAttribute, expectText, until } from "./support/browser";
import { themedFlow, useDashboard } from "./support/dashboard";

/**
 * A refund in a real browser: a paid order, Refund with its confirmation, REFUNDING until
 * the push says REFUNDED, a toast, the balance back, the ledger's refund row linked to the
 * order, and the Dashboard's figures from the server's summary; once per theme.
 */
describe("Dashboard e2e: refunding an order, light and dark", () => {
	const d = useDashboard();

	const flow = themedFlow(d, "refund", async ({ theme, userId, shots }) => {
		const byId = (id: string) => d.byId(id);

		// Arrange: an account with 100.00 ₽ and a 25.00 ₽ order paid live.
		await d.createAccountWith100();
		await byId("tab-orders").click();
		const orderId = await d.placeOrder("25", "Noise-cancelling headphones");
		const row = d.orderRow(orderId);
		await d.untilPushHeld(userId, orderId, "FINISHED");
		d.gate.release();
		await expectAttribute(row, "data-status", "FINISHED", "the order's row");

		// Act 1: Refund asks first; Keep leaves the order alone.
		await row.getByTestId("order-refund").click();
		await expectText(
			row.getByTestId("order-refund-confirmation").locator(".refund__question"),
			"Return 25.00 ₽ to the balance?",
			"the refund question",
		);
		await shots.doc("refund-confirm", `refund-confirm-${theme}`);
		await row.getByTestId("order-refund-keep").click();
		await row.getByTestId("order-refund").waitFor();

		// Act 2: confirm, with pushes held so REFUNDING can be seen before the money is back.
		await row.getByTestId("order-refund").click();
		d.gate.hold();
		const [response] = await Promise.all([
			d.page.waitForResponse(
				r => r.url().endsWith(`/api/orders/${orderId}/refund`) && r.request().method() === "POST",
			),
			row.getByTestId("order-refund-confirm").click(),
		]);
		assert.equal(response.status(), 202);
		assert.equal((await response.json()).status, "REFUNDING");
		assert.match(response.request().headers()["idempotency-key"] ?? "", /^[0-9a-f-]{36}$/);
		await expectAttribute(row, "data-status", "REFUNDING", "the order's row");
		await expectText(row.getByTestId("order-status"), "Refunding", "the badge");
		await d.expectToast("info", `Refund of order ${orderId.slice(0, 6)}… requested`);
		assert.equal(await row.getByTestId("order-refund").count(), 0, "no second refund");
		await d.untilPushHeld(userId, orderId, "REFUNDED");
		assert.equal(await row.getAttribute("data-status"), "REFUNDING", "no push, no change");
		await shots.doc("refunding", `refund-refunding-${theme}`);

		// Assert: the push moves it to REFUNDED and says the money is back.
		d.gate.release();
		await expectAttribute(row, "data-status", "REFUNDED", "the order's row");
		await expectText(row.getByTestId("order-status"), "Refunded", "the badge");
		await d.expectToast(
			"success",
			`Order ${orderId.slice(0, 6)}… refunded: 25.00 ₽ is back on the balance`,
		);
		await d.assertNotReloaded();
		await shots.shot("refunded");

		// The balance is whole again and the ledger shows the refund, linked to its order.
		await byId("tab-account").click();
		await expectText(byId("balance"), "100.00 ₽", "the balance");
		await until(
			() =>
				byId("ledger-row").evaluateAll(els =>
					els.map(el => [
						el.getAttribute("data-kind"),
						(el.querySelector('[data-testid="ledger-amount"]')?.textContent ?? "")
							.replace(/\s+/g, " ")
							.trim(),
						el.querySelector('[data-testid="ledger-order"]')?.getAttribute("data-order-id") ?? null,
					]),
				),
			rows =>
				JSON.stringify(rows) ===
				JSON.stringify([
					["ORDER_REFUND", "+25.00 ₽", orderId],
					["ORDER_PAYMENT", "-25.00 ₽", orderId],
					["TOP_UP", "+100.00 ₽", null],
				]),
			"the ledger: refund, payment, top-up",
		);
		await expectText(
			byId("ledger-row").first().getByTestId("ledger-kind"),
			`Refund · #${orderId.slice(0, 6)}…`,
			"the refund row's title",
		);
		await shots.doc("ledger", `refund-ledger-${theme}`);
		const ledger = await d.api("GET", "/api/accounts/me/transactions", { userId });
		const account = await d.api("GET", "/api/accounts/me", { userId });
		assert.equal(
			ledger.body.reduce((sum: number, e: { amount: number }) => sum + e.amount, 0),
			account.body.balance,
			"ledger sum = balance",
		);

		// The Dashboard counts the refunded order, and no longer as spent.
		await byId("tab-dashboard").click();
		await expectText(byId("stat-balance"), "100.00 ₽", "the balance card");
		await expectText(byId("stat-total-orders"), "1", "the total orders card");
		await expectText(byId("stat-finished-orders"), "0", "the finished orders card");
		await expectText(byId("stat-total-spent"), "0.00 ₽", "the total spent card");
		await expectText(byId("stat-total-orders-hint"), "0 cancelled · 1 refunded", "its caption");
		await expectText(byId("outcome-refunded").locator(".amount"), "1", "the refunded outcome");
		await shots.shot("dashboard");

		d.assertNoConsoleErrors();
	});

	it("When a finished order is refunded in the light theme, then REFUNDING, REFUNDED, the toast, balance and ledger follow live", () =>
		flow.light());

	it("When the same is done in the dark theme for another user, then everything follows the same way", () =>
		flow.dark());
});
