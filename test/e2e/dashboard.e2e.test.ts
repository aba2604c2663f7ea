import { strict as assert } from "assert";
import { execFile } from "child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "fs";
import { join } from "path";
import { promisify } from "util";
import {
	chromium,
	type Browser,
	type BrowserContext,
	type Locator,
	type Page,
	type WebSocketRoute,
} from "playwright-core";
import { projectRoot } from "../../lib/paths";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually } from "../support/http";
import { configWith, TEST_SECRET } from "../support/tokens";

/** Debian's Chromium; CI installs it (scripts/setup-machine.sh --browser). */
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-quic",
	"--no-first-run",
	"--disable-component-update",
	"--disable-sync",
];
const SCREENSHOTS = join(projectRoot, "test-results", "screenshots");
const FRONTEND_DIST = join(projectRoot, "frontend", "dist");

type Theme = "light" | "dark";

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Polls `read` until `ok` holds; fails with what was last seen. */
async function until<T>(
	read: () => Promise<T>,
	ok: (value: T | undefined) => boolean,
	what: string,
	timeoutMs = 10_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await read().catch(() => undefined);
		if (ok(value)) return value as T;
		if (Date.now() > deadline)
			assert.fail(`Timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
		await sleep(50);
	}
}

/** The element's text with runs of whitespace (including the no-break space before ₽) as one space. */
const textOf = async (locator: Locator) =>
	((await locator.textContent({ timeout: 1000 })) ?? "").replace(/\s+/g, " ").trim();

const expectText = (locator: Locator, expected: string, what: string) =>
	until(
		() => textOf(locator),
		text => text === expected,
		`${what} to read "${expected}"`,
	);

const expectAttribute = (locator: Locator, name: string, expected: string, what: string) =>
	until(
		() => locator.getAttribute(name, { timeout: 1000 }),
		value => value === expected,
		`${what} ${name}="${expected}"`,
	);

/**
 * Sits on the dashboard's socket.io WebSocket (the real gateway stays on the other end) and,
 * while holding, keeps `order.updated` frames back. Payment takes milliseconds, so without
 * this the NEW badge could not be photographed reliably; with it the test also shows that
 * the badge changes exactly when the push arrives: the order is already FINISHED in the API
 * while the page, receiving no push, still shows NEW.
 */
class PushGate {
	private readonly sockets: { page: WebSocketRoute; upgraded: boolean }[] = [];
	private held: { page: WebSocketRoute; frame: string | Buffer }[] = [];
	private holding = false;

	async install(page: Page): Promise<void> {
		await page.routeWebSocket(
			url => url.pathname.startsWith("/socket.io/"),
			ws => {
				const socket = { page: ws, upgraded: false };
				this.sockets.push(socket);
				const server = ws.connectToServer();
				ws.onMessage(frame => {
					// Engine.IO's "upgrade" packet: from now on this WebSocket carries every event.
					if (frame === "5") socket.upgraded = true;
					server.send(frame);
				});
				server.onMessage(frame => {
					if (this.holding && String(frame).startsWith('42["order.updated"'))
						this.held.push({ page: ws, frame });
					else ws.send(frame);
				});
			},
		);
	}

	get count(): number {
		return this.sockets.length;
	}

	/**
	 * Waits for a socket opened after `previousCount` sockets to be upgraded to WebSocket, so
	 * pushes travel through this gate rather than over HTTP long-polling.
	 */
	waitForNewSocket(previousCount: number): Promise<unknown> {
		return eventually(
			async () => this.sockets.length > previousCount && this.sockets.at(-1)!.upgraded,
			"the dashboard's socket.io connection to upgrade to WebSocket",
			10_000,
		);
	}

	hold(): void {
		this.holding = true;
	}

	heldFor(orderId: string): boolean {
		return this.held.some(h => String(h.frame).includes(`"orderId":"${orderId}"`));
	}

	release(): void {
		this.holding = false;
		for (const { page, frame } of this.held.splice(0)) page.send(frame);
	}
}

/** One build per run: both describes use the same test API URL. */
let built: Promise<void> | undefined;
const buildOnce = (apiUrl: string) => (built ??= buildDashboard(apiUrl));

async function buildDashboard(apiUrl: string): Promise<void> {
	// frontend/src/lib/config.ts reads import.meta.env.VITE_API_URL; Vite takes VITE_* from
	// the environment. Without it the page would call :8000, where no test gateway listens.
	// Vite runs as its own process (it is ESM-only), without blocking the brokers of this one.
	const vite = join(projectRoot, "node_modules", "vite", "bin", "vite.js");
	await promisify(execFile)(
		process.execPath,
		[vite, "build", "--config", join("frontend", "vite.config.ts"), "--logLevel", "warn"],
		{
			cwd: projectRoot,
			env: { ...process.env, VITE_API_URL: apiUrl },
		},
	);
	const assets = join(FRONTEND_DIST, "assets");
	const bundle = readdirSync(assets)
		.filter(f => f.endsWith(".js"))
		.map(f => readFileSync(join(assets, f), "utf8"))
		.join("\n");
	assert.ok(bundle.includes(apiUrl), `the built dashboard should call the test API at ${apiUrl}`);
}

describe("Dashboard in a real browser", () => {
	const cluster = new TestCluster({
		nodes: ["gateway", "orders", "payments"],
		overrides: { gateway: { serveUi: true } },
	});
	const api = apiClient(cluster.apiUrl);
	const uiUrl = `http://127.0.0.1:${cluster.config.uiPort}`;
	const accountUrl = `${cluster.apiUrl}/api/accounts/me`;

	let browser: Browser | undefined;
	let context: BrowserContext | undefined;
	let page: Page;
	const gate = new PushGate();
	const pageErrors: string[] = [];
	const consoleErrors: { text: string; url: string }[] = [];
	const missingAccountAnswers = { count: 0 };
	const orderReads: string[] = [];

	// The database is recreated for every run, so any id is fresh; short ones fit the header box.
	const firstUser = 1000 + Math.floor(Math.random() * 8000);

	before(async function () {
		this.timeout(120_000);
		if (!existsSync(CHROMIUM))
			throw new Error(
				`The browser test needs Debian's Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (as root; \`apt-get update\` first on a fresh machine)`,
			);
		rmSync(SCREENSHOTS, { recursive: true, force: true });
		mkdirSync(SCREENSHOTS, { recursive: true });

		// Always rebuilt: a stale frontend/dist would test old code (and call another API port).
		// This build calls the test gateway; `npm start` builds it again for :8000.
		await buildOnce(cluster.apiUrl);
		await cluster.start();

		// launch() gives Chromium a fresh temporary profile (--user-data-dir) and deletes it on close.
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_ARGS,
		});
		context = await browser.newContext({
			viewport: { width: 1280, height: 800 },
			deviceScaleFactor: 1,
			colorScheme: "light",
			reducedMotion: "reduce",
			locale: "en-GB",
		});
		page = await context.newPage();
		page.setDefaultTimeout(10_000);
		page.on("pageerror", err => pageErrors.push(err.stack ?? err.message));
		page.on("console", msg => {
			if (msg.type() === "error") consoleErrors.push({ text: msg.text(), url: msg.location().url });
		});
		page.on("response", res => {
			if (res.url() === accountUrl && res.status() === 404) missingAccountAnswers.count++;
		});
		page.on("request", req => {
			const path = new URL(req.url()).pathname;
			if (req.method() === "GET" && path.startsWith("/api/orders")) orderReads.push(path);
		});
		await gate.install(page);

		const response = await page.goto(`${uiUrl}/#account`);
		assert.equal(response?.status(), 200, "the gateway serves the dashboard");
		// A reload would drop this: the test checks it is still there after every live change.
		await page.evaluate('window.e2eMarker = "loaded"');
	});

	// On a failure, what the page looked like and said helps more than a timeout's call log.
	afterEach(async function () {
		if (this.currentTest?.state !== "failed" || !page) return;
		const name = this.currentTest.title.includes("dark") ? "dark" : "light";
		await page.screenshot({ path: join(SCREENSHOTS, `${name}-failed.png`) }).catch(() => undefined);
		console.error("page errors:", pageErrors, "\nconsole errors:", consoleErrors);
	});

	after(async function () {
		this.timeout(60_000);
		await browser?.close().catch(() => undefined);
		await cluster.stop();
	});

	/** Chromium's own console errors and uncaught page errors so far, minus the expected ones. */
	function assertNoConsoleErrors(): void {
		assert.deepEqual(pageErrors, [], "no uncaught errors in the page");
		// Chromium logs every 4xx answer itself, as a console error "Failed to load resource: the
		// server responded with a status of 404 (Not Found)" located at the request's URL. That
		// line is the browser's network log, not the dashboard's: GET /api/accounts/me answering
		// 404 ACCOUNT_NOT_FOUND is how the page learns that a user has no account yet (user 1 at
		// first load, then each new user before "Create account"). Only that URL with that status
		// is excused, and no more often than the gateway really answered it.
		const isExpected = (e: { text: string; url: string }) =>
			e.url === accountUrl &&
			e.text === "Failed to load resource: the server responded with a status of 404 (Not Found)";
		assert.deepEqual(
			consoleErrors.filter(e => !isExpected(e)),
			[],
			"no console errors",
		);
		assert.ok(
			consoleErrors.filter(isExpected).length <= missingAccountAnswers.count,
			"each excused console line matches a 404 the gateway sent",
		);
	}

	/** Waits for a toast of that kind with exactly that text among those on screen. */
	const expectToast = (kind: "success" | "error", message: string) =>
		until(
			() =>
				page
					.getByTestId("toast")
					.evaluateAll(els =>
						els.map(el =>
							`${el.getAttribute("data-kind")}: ${el.textContent ?? ""}`
								.replace(/\s+/g, " ")
								.trim(),
						),
					),
			toasts => !!toasts?.includes(`${kind}: ${message}`),
			`a ${kind} toast "${message}"`,
		);

	const storageItem = (key: string) =>
		page.evaluate<string | null>(`localStorage.getItem(${JSON.stringify(key)})`);

	async function assertNotReloaded(): Promise<void> {
		const marker = await page.evaluate<string | undefined>("window.e2eMarker");
		assert.equal(marker, "loaded", "the page was never reloaded");
	}

	/** Runs the whole flow for a fresh user, with a screenshot after every step. */
	async function paymentFlow(theme: Theme, userId: number): Promise<void> {
		let step = 0;
		const shot = async (name: string) => {
			step++;
			const file = `${theme}-${String(step).padStart(2, "0")}-${name}.png`;
			await page.screenshot({ path: join(SCREENSHOTS, file) });
		};
		const byId = (id: string) => page.getByTestId(id);

		// Arrange: a fresh user id in the header, on the Account tab.
		await byId("tab-account").click();
		const socketsBefore = gate.count;
		await byId("user-id").fill(String(userId));
		await byId("user-id").press("Enter");
		await until(
			() => textOf(byId("no-account")),
			text => !!text?.includes(`Create an account for user #${userId} `),
			`the no-account card of user #${userId}`,
		);
		await until(
			() => byId("toast").count(),
			n => n === 0,
			"no toasts about the previous user",
		);
		await gate.waitForNewSocket(socketsBefore);
		await expectAttribute(
			byId("connection"),
			"data-state",
			"connected",
			"the connection indicator",
		);
		assert.equal(await storageItem("gozon.userId"), String(userId));
		await shot("user-id");

		// Act + Assert: create the account.
		await byId("create-account").click();
		await expectText(byId("balance"), "0.00 ₽", "the balance");
		await expectToast("success", "Account created");
		await shot("account-created");

		// Top up 100.00 ₽.
		await byId("topup-amount").fill("100");
		await byId("topup-submit").click();
		await expectText(byId("balance"), "100.00 ₽", "the balance");
		await expectToast("success", "Added 100.00 ₽");
		await until(
			() => byId("ledger-row").count(),
			n => n === 1,
			"one ledger row",
		);
		await expectAttribute(byId("ledger-row"), "data-kind", "TOP_UP", "the ledger row");
		await expectText(byId("ledger-amount"), "+100.00 ₽", "the ledger amount");
		await shot("topped-up");

		// Order 25.00 ₽: NEW first, FINISHED when the push arrives, without a reload.
		await byId("tab-orders").click();
		await byId("orders-empty").waitFor();
		assert.equal(new URL(page.url()).hash, "#orders");
		const paid = await placeOrder("25", "Wireless headphones");
		const paidRow = page.locator(`[data-testid="order-row"][data-order-id="${paid}"]`);
		await expectAttribute(paidRow, "data-status", "NEW", "the new order's row");
		await expectText(paidRow.getByTestId("order-status"), "New", "the badge");
		await untilPushHeld(userId, paid, "FINISHED");
		assert.equal(await paidRow.getAttribute("data-status"), "NEW", "no push, no change");
		await shot("order-new");

		const readsBefore = orderReads.length;
		gate.release();
		await expectAttribute(paidRow, "data-status", "FINISHED", "the order's row");
		await expectText(paidRow.getByTestId("order-status"), "Finished", "the badge");
		await expectToast("success", `Order ${paid.slice(0, 6)}… finished`);
		assert.deepEqual(orderReads.slice(readsBefore), [], "the push alone moved the badge");
		await assertNotReloaded();
		await shot("order-finished");

		// Order 500.00 ₽ with 75.00 ₽ left: CANCELLED with its reason.
		const refused = await placeOrder("500", "Espresso machine");
		const refusedRow = page.locator(`[data-testid="order-row"][data-order-id="${refused}"]`);
		await expectAttribute(refusedRow, "data-status", "NEW", "the new order's row");
		await untilPushHeld(userId, refused, "CANCELLED");
		gate.release();
		await expectAttribute(refusedRow, "data-status", "CANCELLED", "the order's row");
		await expectText(refusedRow.getByTestId("order-status"), "Cancelled", "the badge");
		await expectText(
			refusedRow.getByTestId("order-cancel-reason"),
			"Insufficient funds",
			"the cancel reason",
		);
		await expectToast("error", `Order ${refused.slice(0, 6)}… cancelled: Insufficient funds`);
		const rows = await byId("order-row").evaluateAll(els =>
			els.map(el => [el.getAttribute("data-order-id"), el.getAttribute("data-status")]),
		);
		assert.deepEqual(rows, [
			[refused, "CANCELLED"],
			[paid, "FINISHED"],
		]);
		await shot("order-cancelled");

		// The Dashboard tab adds it up.
		await byId("tab-dashboard").click();
		await expectText(byId("stat-balance"), "75.00 ₽", "the balance card");
		await expectText(byId("stat-total-orders"), "2", "the total orders card");
		await expectText(byId("stat-finished-orders"), "1", "the finished orders card");
		await expectText(byId("stat-total-spent"), "25.00 ₽", "the total spent card");
		await shot("dashboard");

		await assertNotReloaded();
		assertNoConsoleErrors();
	}

	/** Fills the order form and submits it with pushes held; returns the new order's id. */
	async function placeOrder(rubles: string, description: string): Promise<string> {
		await page.getByTestId("order-amount").fill(rubles);
		await page.getByTestId("order-description").fill(description);
		gate.hold();
		const [response] = await Promise.all([
			page.waitForResponse(
				r => r.url() === `${cluster.apiUrl}/api/orders` && r.request().method() === "POST",
			),
			page.getByTestId("order-submit").click(),
		]);
		assert.equal(response.status(), 202);
		const order = await response.json();
		assert.equal(order.status, "NEW");
		assert.equal(order.amount, Number(rubles) * 100);
		return order.id;
	}

	/** Waits until the API has the order's final status and its push is held at the gate. */
	async function untilPushHeld(userId: number, orderId: string, status: string): Promise<void> {
		await eventually(async () => {
			const r = await api("GET", `/api/orders/${orderId}`, { userId });
			return r.body.status !== "NEW" && r.body;
		}, `order ${orderId} to leave NEW`).then(order => assert.equal(order.status, status));
		await eventually(async () => gate.heldFor(orderId), `the push for order ${orderId}`, 10_000);
	}

	it("When a user funds an account and orders in the light theme, then the badges, toasts and stats follow live", async () => {
		// Arrange
		assert.equal(await page.getAttribute("html", "data-theme"), "light");

		// Act + Assert
		await paymentFlow("light", firstUser);
	});

	it("When the theme is toggled to dark and a second user runs the same flow, then everything follows live in dark", async () => {
		// Arrange
		await page.getByTestId("theme-toggle").click();
		await until(
			() => page.getAttribute("html", "data-theme"),
			theme => theme === "dark",
			'<html data-theme="dark">',
		);
		assert.equal(await storageItem("gozon.theme"), "dark");

		// Act + Assert
		await paymentFlow("dark", firstUser + 1);
	});
});

describe("Dashboard in a real browser, AUTH_MODE=jwt with development tokens", () => {
	const cluster = new TestCluster({
		nodes: ["gateway", "orders", "payments"],
		overrides: {
			gateway: {
				...configWith({ AUTH_MODE: "jwt", JWT_SECRET: TEST_SECRET, AUTH_DEV_TOKENS: "true" }),
				serveUi: true,
			},
		},
	});
	const uiUrl = `http://127.0.0.1:${cluster.config.uiPort}`;
	let browser: Browser | undefined;
	let page: Page;
	const pageErrors: string[] = [];
	const apiCalls: { path: string; authorization?: string; userHeader?: string }[] = [];

	before(async function () {
		this.timeout(120_000);
		await buildOnce(cluster.apiUrl);
		await cluster.start();
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_ARGS,
		});
		page = await (
			await browser.newContext({
				viewport: { width: 1280, height: 800 },
				reducedMotion: "reduce",
				locale: "en-GB",
			})
		).newPage();
		page.setDefaultTimeout(10_000);
		page.on("pageerror", err => pageErrors.push(err.stack ?? err.message));
		page.on("request", req => {
			const url = new URL(req.url());
			if (url.pathname.startsWith("/api/") && req.method() !== "OPTIONS")
				apiCalls.push({
					path: `${req.method()} ${url.pathname}`,
					authorization: req.headers().authorization,
					userHeader: req.headers()["x-user-id"],
				});
		});
		assert.equal((await page.goto(`${uiUrl}/#account`))?.status(), 200);
	});

	after(async function () {
		this.timeout(60_000);
		await browser?.close().catch(() => undefined);
		await cluster.stop();
	});

	it("When a user id is typed, then a dev token signs every call and the socket, and an order goes FINISHED live", async () => {
		const byId = (id: string) => page.getByTestId(id);
		const userId = 1000 + Math.floor(Math.random() * 8000);

		// Arrange: the same "type a user id" flow as header mode.
		await byId("user-id").fill(String(userId));
		await byId("user-id").press("Enter");
		await until(
			() => textOf(byId("no-account")),
			text => !!text?.includes(`Create an account for user #${userId} `),
			`the no-account card of user #${userId}`,
		);
		// The gateway refuses a socket without a valid token: connected proves the handshake's token.
		await expectAttribute(
			byId("connection"),
			"data-state",
			"connected",
			"the connection indicator",
		);

		// Act
		await byId("create-account").click();
		await expectText(byId("balance"), "0.00 ₽", "the balance");
		await byId("topup-amount").fill("100");
		await byId("topup-submit").click();
		await expectText(byId("balance"), "100.00 ₽", "the balance");
		await byId("tab-orders").click();
		await byId("order-amount").fill("25");
		await byId("order-description").fill("Headphones, jwt mode");
		await byId("order-submit").click();

		// Assert: FINISHED arrives by push (the socket is the only way the row changes without a read).
		const row = byId("order-row").first();
		await expectAttribute(row, "data-status", "FINISHED", "the order's row");
		await expectText(row.getByTestId("order-status"), "Finished", "the badge");
		assert.ok(
			apiCalls.some(c => c.path === "POST /api/auth/dev-token"),
			"a dev token was fetched",
		);
		const signed = apiCalls.filter(c => !c.path.includes("/api/auth/"));
		assert.ok(signed.length >= 4, `the dashboard called the API: ${JSON.stringify(signed)}`);
		for (const call of signed) {
			assert.match(
				call.authorization ?? "",
				/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/,
				`${call.path} carries a Bearer token`,
			);
			assert.equal(call.userHeader, undefined, `${call.path} sends no X-User-ID`);
		}
		assert.deepEqual(pageErrors, []);
	});
});
