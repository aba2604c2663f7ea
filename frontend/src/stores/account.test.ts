import { beforeEach, describe, expect, it, vi } from "vitest";
import { apiError, mockFetch, routes } from "../testing/fetch";
import { PAGE_SIZE } from "../lib/paging";
import type { LedgerEntry } from "../lib/types";
import { anAccount } from "../testing/fixtures";
import { plain } from "../testing/text";
import { useAccountStore } from "./account";
import { useSessionStore } from "./session";
import { useToastsStore } from "./toasts";
import { freshStores } from "../testing/stores";

const notFound = apiError(404, "ACCOUNT_NOT_FOUND", "Account not found: create it first");

beforeEach(() => {
	freshStores();
	useSessionStore().setUserId(5);
});

const toastMessages = () => useToastsStore().toasts.map(t => plain(`${t.kind}: ${t.message}`));

describe("account store", () => {
	it("When the user has no account, then loading ends in the empty state without an error toast", async () => {
		const { requests } = mockFetch(routes({ "GET /api/accounts/me": notFound }));
		const store = useAccountStore();

		await store.load();

		expect(store.status).toBe("missing");
		expect(store.account).toBeNull();
		expect(toastMessages()).toEqual([]);
		expect(requests.map(r => r.path)).toEqual(["/api/accounts/me"]);
	});

	it("When an account is created, then the 201 body becomes the account and a success toast shows", async () => {
		const created = anAccount({ userId: 5 });
		const { requests } = mockFetch(routes({ "POST /api/accounts": [201, created] }));
		const store = useAccountStore();

		await store.create();

		expect(requests[0]).toMatchObject({ method: "POST", path: "/api/accounts" });
		expect(requests[0]?.headers["X-User-ID"]).toBe("5");
		expect(store.status).toBe("ready");
		expect(store.account).toEqual(created);
		expect(toastMessages()).toEqual(["success: Account created"]);
	});

	it("When the account already exists (409), then the API's message is shown and the account is loaded", async () => {
		const existing = anAccount({ userId: 5, balance: 700 });
		mockFetch(
			routes({
				"POST /api/accounts": apiError(409, "ACCOUNT_EXISTS", "Account already exists"),
				"GET /api/accounts/me": [200, existing],
				"GET /api/accounts/me/transactions": [200, []],
			}),
		);
		const store = useAccountStore();

		await store.create();

		expect(toastMessages()).toEqual(["error: Account already exists"]);
		await vi.waitFor(() => expect(store.account).toEqual(existing));
		expect(store.status).toBe("ready");
	});

	it("When a top-up succeeds, then the balance comes from the server and a fresh key is sent", async () => {
		const { requests } = mockFetch(
			routes({
				"POST /api/accounts/me/top-ups": [200, anAccount({ userId: 5, balance: 15050 })],
				"GET /api/accounts/me": [200, anAccount({ userId: 5, balance: 15050 })],
				"GET /api/accounts/me/transactions": [200, []],
			}),
		);
		const store = useAccountStore();

		const ok = await store.topUp(15050);

		expect(ok).toBe(true);
		expect(store.account?.balance).toBe(15050);
		expect(requests[0]?.body).toEqual({ amount: 15050 });
		expect(requests[0]?.headers["Idempotency-Key"]).toBeTruthy();
		expect(toastMessages()).toEqual(["success: Added 150.50 ₽"]);
	});

	it("When the server cannot be reached, then loading fails with a readable toast", async () => {
		mockFetch(() => "network");
		const store = useAccountStore();

		await store.load();

		expect(store.status).toBe("error");
		expect(toastMessages()).toEqual([
			"error: Cannot reach the server at http://localhost:8000. Is the API running?",
		]);
	});

	it("When the user switches mid-request, then the old user's answer is dropped", async () => {
		let release: () => void = () => {};
		const gate = new Promise<void>(resolve => (release = resolve));
		const { fetchMock } = mockFetch(
			routes({
				"GET /api/accounts/me": [200, anAccount({ userId: 5 })],
				"GET /api/accounts/me/transactions": [200, []],
			}),
		);
		const answer = fetchMock.getMockImplementation();
		fetchMock.mockImplementationOnce(async (...args) => {
			await gate;
			return answer!(...args);
		});
		const store = useAccountStore();

		const pending = store.load();
		store.reset();
		release();
		await pending;

		expect(store.status).toBe("idle");
		expect(store.account).toBeNull();
	});
});

describe("account store: the ledger page by page", () => {
	/** 25 ledger entries, newest first; refunds among them, as the API lists them. */
	function ledgerServer(count = PAGE_SIZE + 5) {
		const all: LedgerEntry[] = Array.from({ length: count }, (_, i) => ({
			id: count - i,
			kind: i % 3 === 0 ? "ORDER_REFUND" : "TOP_UP",
			amount: 100,
			balanceAfter: (count - i) * 100,
			...(i % 3 === 0 ? { orderId: `order-${i}` } : {}),
			createdAt: "2025-01-01T10:00:00.000Z",
		}));
		const pages: { limit: string | null; before: string | null }[] = [];
		mockFetch(req => {
			if (req.path === "/api/accounts/me") return [200, anAccount({ userId: 5 })];
			const query = new URL(req.url).searchParams;
			pages.push({ limit: query.get("limit"), before: query.get("before") });
			const before = query.get("before");
			const from = before ? all.findIndex(e => String(e.id) === before) + 1 : 0;
			return [200, all.slice(from, from + Number(query.get("limit")))];
		});
		return { all, pages };
	}

	it("When the account loads, then one page of the ledger is read, and more reads the next one before the last id", async () => {
		const { all, pages } = ledgerServer();
		const store = useAccountStore();

		await store.load();
		expect(store.transactions).toHaveLength(PAGE_SIZE);
		expect(store.hasMoreTransactions).toBe(true);

		await store.loadMoreTransactions();

		expect(pages).toEqual([
			{ limit: String(PAGE_SIZE), before: null },
			{ limit: String(PAGE_SIZE), before: String(all[PAGE_SIZE - 1]?.id) },
		]);
		expect(store.transactions.map(e => e.id)).toEqual(all.map(e => e.id));
		expect(store.hasMoreTransactions).toBe(false);
	});

	it("When a top-up reloads the account after more was loaded, then the ledger keeps its length", async () => {
		const { pages } = ledgerServer(PAGE_SIZE * 3);
		const store = useAccountStore();
		await store.load();
		await store.loadMoreTransactions();

		await store.load();

		expect(pages.at(-1)).toEqual({ limit: String(PAGE_SIZE * 2), before: null });
		expect(store.transactions).toHaveLength(PAGE_SIZE * 2);
	});
});
