import { strict as assert } from "assert";
import { configWith, TEST_SECRET } from "../support/tokens";
import { expectAttribute, expectText, textOf, until } from "./support/browser";
import { useDashboard } from "./support/dashboard";

describe("Dashboard e2e: AUTH_MODE=jwt with development tokens", () => {
	const d = useDashboard({
		gateway: configWith({ AUTH_MODE: "jwt", JWT_SECRET: TEST_SECRET, AUTH_DEV_TOKENS: "true" }),
	});
	const apiCalls: { path: string; authorization?: string; userHeader?: string }[] = [];

	before(async () => {
		d.page.on("request", req => {
			const url = new URL(req.url());
			if (url.pathname.startsWith("/api/") && req.method() !== "OPTIONS")
				apiCalls.push({
					path: `${req.method()} ${url.pathname}`,
					authorization: req.headers().authorization,
					userHeader: req.headers()["x-user-id"],
				});
		});
		await d.open("account");
	});

	it("When a user id is typed, then a dev token signs every call and the socket, and an order goes FINISHED live", async () => {
		const byId = (id: string) => d.byId(id);
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
		await expectAttribute(byId("connection"), "data-state", "connected", "the indicator");

		// Act
		await d.createAccountWith100();
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
		assert.deepEqual(d.pageErrors, []);
	});
});
