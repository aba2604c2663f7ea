import { strict as assert } from "assert";
import { expectAttribute, expectText, Shots, textOf, until, type Theme } from "./support/browser";
import { useDashboard } from "./support/dashboard";

/**
 * The page in a Russian browser: Russian from the first paint, money as "1 234,56 ₽", the
 * API's errors in Russian, and a switch to English that is remembered across a reload.
 */
describe("Dashboard e2e: Russian and English", () => {
	const d = useDashboard({ locale: "ru-RU" });
	const userId = 1_000_000_000 + Math.floor(Math.random() * 1_000_000_000);

	before(async () => {
		// Arrange, through the API: 1 234,56 ₽ on the account and one paid order of 25,00 ₽.
		assert.equal((await d.api("POST", "/api/accounts", { userId })).status, 201);
		const topUp = await d.api("POST", "/api/accounts/me/top-ups", {
			userId,
			body: { amount: 125956 },
		});
		assert.equal(topUp.status, 200);
		const order = await d.api("POST", "/api/orders", {
			userId,
			body: { amount: 2500, description: "Беспроводные наушники" },
		});
		assert.equal(order.status, 202);
		await until(
			async () => (await d.api("GET", `/api/orders/${order.body.id}`, { userId })).body.status,
			status => status === "FINISHED",
			"the order to be paid",
		);
		await d.page.addInitScript(`localStorage.setItem("gozon.userId", "${userId}")`);
		await d.open("account");
	});

	const tabs = () =>
		d.page.getByRole("tab").evaluateAll(els => els.map(el => el.textContent?.trim()));
	/**
	 * Waits until the tab bar reads `labels`: a single read right after a click once found no
	 * tab at all in CI.
	 */
	const tabsRead = (labels: string[]) =>
		until(
			tabs,
			seen => JSON.stringify(seen) === JSON.stringify(labels),
			`the tabs ${labels.join("/")}`,
		);

	async function inRussian(theme: Theme): Promise<void> {
		const shots = new Shots(d.page, `ru-${theme}`);
		const byId = (id: string) => d.byId(id);

		await tabsRead(["Счёт", "Заказы", "Обзор"]);
		assert.equal(await d.page.getAttribute("html", "lang"), "ru");
		await expectAttribute(byId("locale-ru"), "aria-pressed", "true", "the RU switch");
		await expectText(byId("balance"), "1 234,56 ₽", "the balance");
		await expectText(byId("ledger-count"), "2 записи", "the ledger's count");
		await expectText(byId("ledger-amount").first(), "-25,00 ₽", "the payment");
		await shots.doc("account", `account-ru-${theme}`);

		await byId("tab-orders").click();
		await expectText(byId("order-status").first(), "Оплачен", "the badge");
		await expectText(byId("order-refund").first(), "Вернуть деньги", "the refund button");
		await shots.doc("orders", `orders-ru-${theme}`);
		await byId("order-amount").fill("12,345");
		await byId("order-submit").click();
		await expectText(
			byId("order-amount-error"),
			"Не больше двух знаков после запятой",
			"the amount error",
		);
		await byId("order-amount").fill("");

		await byId("tab-dashboard").click();
		await expectText(byId("stat-balance"), "1 234,56 ₽", "the balance card");
		await expectText(byId("stat-total-spent"), "25,00 ₽", "the spent card");
		await expectText(byId("stat-finished-orders-hint"), "100% всех заказов", "its caption");
		await shots.doc("dashboard", `dashboard-ru-${theme}`);
	}

	it("When a Russian browser opens the page, then labels, money and validation are Russian (light)", async () => {
		await inRussian("light");
	});

	it("When the API refuses something, then the toast is the page's Russian wording of its error type", async () => {
		const other = userId + 1;
		await d.switchUser(other, id => `пользователя #${id},`);
		// Opened meanwhile elsewhere: the click meets 409 ACCOUNT_EXISTS.
		assert.equal((await d.api("POST", "/api/accounts", { userId: other })).status, 201);

		await d.byId("create-account").click();

		await d.expectToast("error", "Счёт уже открыт");
		await expectText(d.byId("balance"), "0,00 ₽", "the balance once loaded");
		await d.byId("user-id").fill(String(userId));
		await d.byId("user-id").press("Enter");
		await expectText(d.byId("balance"), "1 234,56 ₽", "the first user's balance");
	});

	it("When the user id has 10 digits, then the header field shows all of them", async () => {
		await expectText(d.byId("user-id").locator("xpath=.."), "ID пользователя", "the label");
		const fits = await d.byId("user-id").evaluate(el => {
			const input = el as unknown as { value: string; scrollWidth: number; clientWidth: number };
			return { value: input.value, scroll: input.scrollWidth, client: input.clientWidth };
		});
		assert.equal(fits.value.length, 10);
		assert.ok(fits.scroll <= fits.client, `10 digits fit: ${JSON.stringify(fits)}`);
	});

	it("When the switch picks English, then every word changes at once and a reload keeps English", async () => {
		await d.byId("tab-account").click();
		await d.byId("locale-en").click();

		await tabsRead(["Account", "Orders", "Dashboard"]);
		await expectText(d.byId("balance"), "1,234.56 ₽", "the balance");
		await expectText(d.byId("ledger-count"), "2 entries", "the ledger's count");
		assert.equal(await d.storageItem("gozon.locale"), "en");

		await d.page.reload();

		await tabsRead(["Account", "Orders", "Dashboard"]);
		assert.equal(await d.page.getAttribute("html", "lang"), "en");
		await expectText(d.byId("balance"), "1,234.56 ₽", "the balance after a reload");
		assert.equal(await textOf(d.byId("tab-account")), "Account");
		await new Shots(d.page, "en-light").doc("account", "account-en-light");
	});

	it("When switched back to Russian in the dark theme, then the same holds in dark", async () => {
		await d.byId("locale-ru").click();
		await d.toggleToDark();
		await d.byId("tab-account").click();

		await inRussian("dark");
		assert.deepEqual(d.pageErrors, []);
	});
});
