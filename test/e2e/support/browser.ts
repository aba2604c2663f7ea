import { strict as assert } from "assert";
import { execFile } from "child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "fs";
import { join } from "path";
import { promisify } from "util";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { projectRoot } from "../../../lib/paths";

/** Debian's Chromium; CI installs it (scripts/setup-machine.sh --browser). */
export const CHROMIUM = "/usr/bin/chromium";
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
export const SCREENSHOTS = join(projectRoot, "test-results", "screenshots");
const DOC_SCREENSHOTS = join(projectRoot, "docs", "screenshots");
const FRONTEND_DIST = join(projectRoot, "frontend", "dist");

export type Theme = "light" | "dark";

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

export async function launchBrowser(): Promise<Browser> {
	if (!existsSync(CHROMIUM))
		throw new Error(
			`The browser tests need Debian's Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (as root; \`apt-get update\` first on a fresh machine)`,
		);
	// launch() gives Chromium a fresh temporary profile (--user-data-dir) and deletes it on close.
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** One build per run: every e2e file's cluster listens on the same test API URL. */
let built: Promise<void> | undefined;
export const buildOnce = (apiUrl: string) => (built ??= buildDashboard(apiUrl));

async function buildDashboard(apiUrl: string): Promise<void> {
	// frontend/src/lib/config.ts reads import.meta.env.VITE_API_URL; Vite takes VITE_* from
	// the environment. Without it the page would call :8000, where no test gateway listens.
	// Vite runs as its own process (it is ESM-only), without blocking the brokers of this one.
	const vite = join(projectRoot, "node_modules", "vite", "bin", "vite.js");
	await promisify(execFile)(
		process.execPath,
		[vite, "build", "--config", join("frontend", "vite.config.ts"), "--logLevel", "warn"],
		{ cwd: projectRoot, env: { ...process.env, VITE_API_URL: apiUrl } },
	);
	const assets = join(FRONTEND_DIST, "assets");
	const bundle = readdirSync(assets)
		.filter(f => f.endsWith(".js"))
		.map(f => readFileSync(join(assets, f), "utf8"))
		.join("\n");
	assert.ok(bundle.includes(apiUrl), `the built dashboard should call the test API at ${apiUrl}`);
}

let screenshotsReset = false;

/**
 * Screenshots of one flow: every step goes to test-results/screenshots as
 * `<flow>-<nn>-<step>.png` (not committed). The pictures the docs show are taken with `doc`;
 * with UPDATE_DOC_SCREENSHOTS=1 they are also written to docs/screenshots/<name>.png.
 */
export class Shots {
	private step = 0;

	constructor(
		private readonly page: Page,
		private readonly flow: string,
	) {
		if (!screenshotsReset) {
			rmSync(SCREENSHOTS, { recursive: true, force: true });
			screenshotsReset = true;
		}
		mkdirSync(SCREENSHOTS, { recursive: true });
	}

	async shot(name: string): Promise<string> {
		this.step++;
		const file = join(
			SCREENSHOTS,
			`${this.flow}-${String(this.step).padStart(2, "0")}-${name}.png`,
		);
		await this.page.screenshot({ path: file });
		return file;
	}

	/** A step shot that the docs also show, as docs/screenshots/<docName>.png. */
	async doc(name: string, docName: string): Promise<void> {
		const file = await this.shot(name);
		if (process.env.UPDATE_DOC_SCREENSHOTS === "1")
			copyFileSync(file, join(DOC_SCREENSHOTS, `${docName}.png`));
	}
}

/** Polls `read` until `ok` holds; fails with what was last seen. */
export async function until<T>(
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

/** The element's text with runs of whitespace (including the no-break spaces of amounts) as one space. */
export const textOf = async (locator: Locator) =>
	((await locator.textContent({ timeout: 1000 })) ?? "").replace(/\s+/g, " ").trim();

export const expectText = (locator: Locator, expected: string, what: string) =>
	until(
		() => textOf(locator),
		text => text === expected,
		`${what} to read "${expected}"`,
	);

export const expectAttribute = (locator: Locator, name: string, expected: string, what: string) =>
	until(
		() => locator.getAttribute(name, { timeout: 1000 }),
		value => value === expected,
		`${what} ${name}="${expected}"`,
	);
