import { strict as assert } from "assert";
import { expectText, Shots, sleep, until, type Theme } from "./support/browser";
import { shortUserId, useDashboard } from "./support/dashboard";

const PAGE = 20;
const ORDERS = 25;

/**
 * Lists past one page: the Orders tab and the ledger show 20 and "Load more" brings the rest
 * (`before` = the last id shown); and a reload with a slow API never shows a blank figure.
 */
describe("Dashboard e2e: load more, and skeletons after a reload", () => {
	const d = useDashboard();
	const userId = shortUserId();
	let newestFirst: string[] = [];

	before(async function () {
		this.timeout(120_000);
		// Arrange, through the API: 25 orders of 1.00 ₽, all paid (ledger: 1 top-up + 25 payments).
		assert.equal((await d.api("POST", "/api/accounts", { userId })).status, 201);
		await d.api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 10_000 } });
		for (let i = 1; i <= ORDERS; i++) {
			const r = await d.api("POST", "/api/orders", {
				userId,
				body: { amount: 100, description: `Order number ${i}` },
			});
			assert.equal(r.status, 202);
		}
		await until(
			async () => (await d.api("GET", "/api/orders/summary", { userId })).body,
			summary => summary?.byStatus?.FINISHED === ORDERS,
			`all ${ORDERS} orders to be paid`,
			30_000,
		);
		const all = await d.api("GET", "/api/orders?limit=100", { userId });
		newestFirst = all.body.map((o: { id: string }) => o.id);
		await d.page.addInitScript(`localStorage.setItem("gozon.userId", "${userId}")`);
		await d.open("orders");
	});

	const rowIds = (testid: string, attribute: string) =>
		d.byId(testid).evaluateAll((els, attr) => els.map(el => el.getAttribute(attr)), attribute);

	async function paging(theme: Theme): Promise<void> {
		const shots = new Shots(d.page, `paging-${theme}`);
		const byId = (id: string) => d.byId(id);

		// Orders: one page, then the rest after the last id shown.
		await d.byId("tab-orders").click();
		await until(
			() => byId("order-row").count(),
			n => n === PAGE,
			`${PAGE} order rows`,
		);
		await expectText(byId("orders-count"), `${PAGE} of ${ORDERS}`, "the count");
		assert.deepEqual(await rowIds("order-row", "data-order-id"), newestFirst.slice(0, PAGE));
		await byId("orders-load-more").scrollIntoViewIfNeeded();
		await shots.doc("orders-load-more", `orders-paging-${theme}`);
		const [more] = await Promise.all([
			d.page.waitForRequest(r => r.url().includes("/api/orders?") && r.url().includes("before=")),
			byId("orders-load-more").click(),
		]);
		assert.equal(new URL(more.url()).searchParams.get("before"), newestFirst[PAGE - 1]);
		await until(
			() => byId("order-row").count(),
			n => n === ORDERS,
			`${ORDERS} order rows`,
		);
		assert.deepEqual(await rowIds("order-row", "data-order-id"), newestFirst);
		assert.equal(await byId("orders-load-more").count(), 0, "nothing more to load");
		await expectText(byId("orders-count"), `${ORDERS} of ${ORDERS}`, "the count");

		// The ledger: 26 entries, 20 first.
		await byId("tab-account").click();
		await until(
			() => byId("ledger-row").count(),
			n => n === PAGE,
			`${PAGE} ledger rows`,
		);
		await byId("ledger-load-more").click();
		await until(
			() => byId("ledger-row").count(),
			n => n === ORDERS + 1,
			`${ORDERS + 1} ledger rows`,
		);
		const kinds = await rowIds("ledger-row", "data-kind");
		assert.deepEqual(kinds, [...Array(ORDERS).fill("ORDER_PAYMENT"), "TOP_UP"]);
		assert.equal(await byId("ledger-load-more").count(), 0, "nothing more to load");
		await byId("ledger-row").last().scrollIntoViewIfNeeded();
		await shots.shot("ledger-all");
	}

	/**
	 * Records, on every frame from the first paint, a stat card that shows neither its figure
	 * nor a skeleton, or a caption without its figure: what a reload used to show for a second.
	 */
	const WATCH_STATS = `
		window.__blankStats = [];
		const check = () => {
			for (const card of document.querySelectorAll(".stat")) {
				const value = card.querySelector(".stat__value");
				const skeleton = card.querySelector(".skeleton");
				const hint = card.querySelector(".stat__hint");
				const label = card.querySelector(".stat__label")?.textContent ?? "?";
				const shown = value && value.textContent.trim() !== "";
				if (!shown && !skeleton) window.__blankStats.push(label + ": blank");
				if (!shown && hint) window.__blankStats.push(label + ": caption without figure");
			}
			if (!window.__stopStats) requestAnimationFrame(check);
		};
		requestAnimationFrame(check);
	`;

	async function reloadWithSlowApi(theme: Theme): Promise<void> {
		const shots = new Shots(d.page, `reload-${theme}`);
		// Each read of the figures takes a second, as on a slow network.
		const slow = async (route: import("playwright-core").Route) => {
			await sleep(1000);
			await route.continue().catch(() => undefined);
		};
		await d.page.route("**/api/orders/summary", slow);
		await d.page.route("**/api/accounts/me", slow);
		await d.page.addInitScript(WATCH_STATS);
		try {
			// A real reload of #dashboard: going there by goto() would only change the hash.
			await d.page.evaluate('history.replaceState(null, "", "#dashboard")');
			await d.page.reload();
			await d.byId("stat-total-orders-loading").waitFor();
			await shots.doc("skeletons", `dashboard-loading-${theme}`);
			await expectText(d.byId("stat-total-orders"), String(ORDERS), "the total orders card");
			await expectText(d.byId("stat-balance"), "75.00 ₽", "the balance card");
			await expectText(d.byId("stat-total-spent"), "25.00 ₽", "the total spent card");
			await sleep(200);
			const blanks = await d.page.evaluate("window.__stopStats = true, window.__blankStats");
			assert.deepEqual(blanks, [], "no frame showed a blank figure or a caption alone");
		} finally {
			await d.page.unroute("**/api/orders/summary");
			await d.page.unroute("**/api/accounts/me");
		}
	}

	it("When a user has more than a page of orders and ledger entries, then Load more brings the rest (light)", async () => {
		await paging("light");
	});

	it("When the Dashboard is reloaded on a slow API, then skeletons hold every figure's place until it is there (light)", async () => {
		await reloadWithSlowApi("light");
	});

	it("When the same is done in the dark theme, then paging and skeletons hold there too", async () => {
		await d.toggleToDark();
		await d.page.reload();
		await paging("dark");
		await reloadWithSlowApi("dark");
		assert.deepEqual(d.pageErrors, []);
	});
});
