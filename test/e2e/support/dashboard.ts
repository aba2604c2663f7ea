import { strict as assert } from "assert";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Config } from "../../../lib/config";
import { TestCluster } from "../../support/cluster";
import { apiClient, eventually } from "../../support/http";
import {
	buildOnce,
	expectAttribute,
	expectText,
	launchBrowser,
	SCREENSHOTS,
	Shots,
	textOf,
	until,
	type Theme,
} from "./browser";
import { PushGate } from "./push-gate";
import { mkdirSync } from "fs";
import { join } from "path";

export interface DashboardOptions {
	/** The browser's language (Accept-Language, navigator.languages). */
	locale?: string;
	colorScheme?: Theme;
	/** Gateway config on top of the test defaults (e.g. jwt mode). */
	gateway?: Partial<Config>;
}

/**
 * One e2e file's world: a real cluster (gateway serving the built page, orders, payments),
 * Chromium with one page on the dashboard, a PushGate on its socket, and the page's errors.
 * `useDashboard()` registers the mocha hooks that start and stop all of it.
 */
export class Dashboard {
	readonly cluster: TestCluster;
	readonly api: ReturnType<typeof apiClient>;
	readonly gate = new PushGate();
	readonly pageErrors: string[] = [];
	readonly consoleErrors: { text: string; url: string }[] = [];
	/** GET /api/orders… paths the page asked for, to tell a push from a reload. */
	readonly orderReads: string[] = [];
	browser: Browser | undefined;
	context: BrowserContext | undefined;
	page!: Page;
	private missingAccountAnswers = 0;

	constructor(private readonly opts: DashboardOptions = {}) {
		this.cluster = new TestCluster({
			nodes: ["gateway", "orders", "payments"],
			overrides: { gateway: { ...(opts.gateway ?? {}), serveUi: true } },
		});
		this.api = apiClient(this.cluster.apiUrl);
	}

	get uiUrl(): string {
		return `http://127.0.0.1:${this.cluster.config.uiPort}`;
	}

	private get accountUrl(): string {
		return `${this.cluster.apiUrl}/api/accounts/me`;
	}

	async start(): Promise<void> {
		// Always rebuilt: a stale frontend/dist would test old code (and call another API port).
		await buildOnce(this.cluster.apiUrl);
		await this.cluster.start();
		this.browser = await launchBrowser();
		this.context = await this.browser.newContext({
			viewport: { width: 1280, height: 800 },
			deviceScaleFactor: 1,
			colorScheme: this.opts.colorScheme ?? "light",
			reducedMotion: "reduce",
			locale: this.opts.locale ?? "en-GB",
		});
		const page = await this.context.newPage();
		this.page = page;
		page.setDefaultTimeout(10_000);
		page.on("pageerror", err => this.pageErrors.push(err.stack ?? err.message));
		page.on("console", msg => {
			if (msg.type() === "error")
				this.consoleErrors.push({ text: msg.text(), url: msg.location().url });
		});
		page.on("response", res => {
			if (res.url() === this.accountUrl && res.status() === 404) this.missingAccountAnswers++;
		});
		page.on("request", req => {
			const path = new URL(req.url()).pathname;
			if (req.method() === "GET" && path.startsWith("/api/orders")) this.orderReads.push(path);
		});
		await this.gate.install(page);
	}

	async stop(): Promise<void> {
		await this.browser?.close().catch(() => undefined);
		await this.cluster.stop();
	}

	async open(hash = "account"): Promise<void> {
		const response = await this.page.goto(`${this.uiUrl}/#${hash}`);
		assert.equal(response?.status(), 200, "the gateway serves the dashboard");
		// A reload would drop this: flows check it is still there after every live change.
		await this.page.evaluate('window.e2eMarker = "loaded"');
	}

	byId(id: string) {
		return this.page.getByTestId(id);
	}

	orderRow(orderId: string) {
		return this.page.locator(`[data-testid="order-row"][data-order-id="${orderId}"]`);
	}

	storageItem(key: string): Promise<string | null> {
		return this.page.evaluate<string | null>(`localStorage.getItem(${JSON.stringify(key)})`);
	}

	async assertNotReloaded(): Promise<void> {
		const marker = await this.page.evaluate<string | undefined>("window.e2eMarker");
		assert.equal(marker, "loaded", "the page was never reloaded");
	}

	/** Waits for a toast of that kind with exactly that text among those on screen. */
	expectToast(kind: "success" | "error" | "info", message: string) {
		return until(
			() =>
				this.byId("toast").evaluateAll(els =>
					els.map(el =>
						`${el.getAttribute("data-kind")}: ${el.textContent ?? ""}`.replace(/\s+/g, " ").trim(),
					),
				),
			toasts => !!toasts?.includes(`${kind}: ${message}`),
			`a ${kind} toast "${message}"`,
		);
	}

	/** Uncaught page errors and Chromium console errors so far, minus the expected ones. */
	assertNoConsoleErrors(): void {
		assert.deepEqual(this.pageErrors, [], "no uncaught errors in the page");
		// Chromium logs every 4xx answer itself, as a console error "Failed to load resource: the
		// server responded with a status of 404 (Not Found)" located at the request's URL. That
		// line is the browser's network log, not the dashboard's: GET /api/accounts/me answering
		// 404 ACCOUNT_NOT_FOUND is how the page learns that a user has no account yet. Only that
		// URL with that status is excused, and no more often than the gateway really answered it.
		const isExpected = (e: { text: string; url: string }) =>
			e.url === this.accountUrl &&
			e.text === "Failed to load resource: the server responded with a status of 404 (Not Found)";
		assert.deepEqual(
			this.consoleErrors.filter(e => !isExpected(e)),
			[],
			"no console errors",
		);
		assert.ok(
			this.consoleErrors.filter(isExpected).length <= this.missingAccountAnswers,
			"each excused console line matches a 404 the gateway sent",
		);
	}

	/** Types a fresh user id into the header and waits for its empty account and live socket. */
	async switchUser(
		userId: number,
		noAccountText = (id: number) => `Create an account for user #${id} `,
	): Promise<void> {
		await this.byId("tab-account").click();
		const socketsBefore = this.gate.count;
		await this.byId("user-id").fill(String(userId));
		await this.byId("user-id").press("Enter");
		await until(
			() => textOf(this.byId("no-account")),
			text => !!text?.includes(noAccountText(userId)),
			`the no-account card of user #${userId}`,
		);
		await until(
			() => this.byId("toast").count(),
			n => n === 0,
			"no toasts about the previous user",
		);
		await this.gate.waitForNewSocket(socketsBefore);
		await expectAttribute(this.byId("connection"), "data-state", "connected", "the indicator");
		assert.equal(await this.storageItem("gozon.userId"), String(userId));
	}

	/** Clicks the theme toggle (from light) and waits until the page is dark. */
	async toggleToDark(): Promise<void> {
		await this.byId("theme-toggle").click();
		await until(
			() => this.page.getAttribute("html", "data-theme"),
			theme => theme === "dark",
			'<html data-theme="dark">',
		);
	}

	/** Creates the shown user's account on its card, then tops it up by 100.00 ₽ through the form. */
	async createAccountWith100(): Promise<void> {
		await this.byId("create-account").click();
		await expectText(this.byId("balance"), "0.00 ₽", "the balance");
		await this.byId("topup-amount").fill("100");
		await this.byId("topup-submit").click();
		await expectText(this.byId("balance"), "100.00 ₽", "the balance");
	}

	/** Fills the order form and submits it with pushes held; returns the new order's id. */
	async placeOrder(rubles: string, description: string): Promise<string> {
		await this.byId("order-amount").fill(rubles);
		await this.byId("order-description").fill(description);
		this.gate.hold();
		const [response] = await Promise.all([
			this.page.waitForResponse(
				r => r.url() === `${this.cluster.apiUrl}/api/orders` && r.request().method() === "POST",
			),
			this.byId("order-submit").click(),
		]);
		assert.equal(response.status(), 202);
		const order = await response.json();
		assert.equal(order.status, "NEW");
		return order.id;
	}

	/** Waits until the API has the order in `status` and the push saying so is held at the gate. */
	async untilPushHeld(userId: number, orderId: string, status: string): Promise<void> {
		await eventually(async () => {
			const r = await this.api("GET", `/api/orders/${orderId}`, { userId });
			return r.body.status === status && r.body;
		}, `order ${orderId} to reach ${status}`);
		await eventually(
			async () => this.gate.heldFor(orderId, status),
			`the ${status} push for order ${orderId}`,
			10_000,
		);
	}
}

/** A user id no other run has used (the database is recreated for every run); short, to fit the header box. */
export const shortUserId = () => 1000 + Math.floor(Math.random() * 8000);

/** The mocha hooks of one e2e file: start the world before, stop it after, a picture on failure. */
export function useDashboard(opts: DashboardOptions = {}): Dashboard {
	const dashboard = new Dashboard(opts);
	before(async function () {
		this.timeout(120_000);
		await dashboard.start();
	});
	// On a failure, what the page looked like and said helps more than a timeout's call log.
	afterEach(async function () {
		if (this.currentTest?.state !== "failed" || !dashboard.page) return;
		const name = this.currentTest.title.replace(/[^\w]+/g, "-").slice(0, 60);
		mkdirSync(SCREENSHOTS, { recursive: true });
		await dashboard.page
			.screenshot({ path: join(SCREENSHOTS, `failed-${name}.png`) })
			.catch(() => undefined);
		console.error(
			"page errors:",
			dashboard.pageErrors,
			"\nconsole errors:",
			dashboard.consoleErrors,
		);
	});
	after(async function () {
		this.timeout(60_000);
		await dashboard.stop();
	});
	return dashboard;
}

/** What one run of a themed flow gets: its theme, its user (shown in the header), its screenshots. */
export interface FlowRun {
	theme: Theme;
	userId: number;
	shots: Shots;
}

/**
 * A flow the tests run once per theme, each time for a fresh user: `light()` on the page as it
 * opens, `dark()` after the theme toggle (which the page must remember). The page opens on the
 * Account tab, every run starts with its user typed into the header, and `name` prefixes the
 * screenshots.
 */
export function themedFlow(d: Dashboard, name: string, flow: (run: FlowRun) => Promise<void>) {
	const firstUser = shortUserId();
	before(() => d.open("account"));

	async function run(theme: Theme, userId: number): Promise<void> {
		const shots = new Shots(d.page, `${name}-${theme}`);
		await d.switchUser(userId);
		await flow({ theme, userId, shots });
	}
	return {
		async light(): Promise<void> {
			assert.equal(await d.page.getAttribute("html", "data-theme"), "light");
			await run("light", firstUser);
		},
		async dark(): Promise<void> {
			await d.toggleToDark();
			assert.equal(await d.storageItem("gozon.theme"), "dark");
			await run("dark", firstUser + 1);
		},
	};
}
