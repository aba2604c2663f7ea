import { beforeEach, describe, expect, it, vi } from "vitest";
import { setLocale } from "../i18n";
import { PAGE_SIZE } from "../lib/paging";
import { apiError, type FakeAnswer, mockFetch, routes } from "../testing/fetch";
import { anOrder, anOrderUpdate, aSummary } from "../testing/fixtures";
import { plain } from "../testing/text";
import { useOrdersStore } from "./orders";
import { useSessionStore } from "./session";
import { useSummaryStore } from "./summary";
import { useToastsStore } from "./toasts";
import { freshStores } from "../testing/stores";

const ORDER_ID = "1a2b3c4d-0000-4000-8000-000000000001";

async function storeWithOneNewOrder() {
	mockFetch(routes({ "GET /api/orders": [200, [anOrder({ id: ORDER_ID })]] }));
	const store = useOrdersStore();
	await store.load();
	return store;
}

const toastMessages = () => useToastsStore().toasts.map(t => plain(`${t.kind}: ${t.message}`));

beforeEach(() => {
	freshStores();
	useSessionStore().setUserId(1);
});

describe("orders store: order.updated", () => {
	it("When a FINISHED event arrives for a listed order, then its status changes and a toast says so", async () => {
		const store = await storeWithOneNewOrder();

		const changed = store.applyUpdate(anOrderUpdate());

		expect(changed).toBe(true);
		expect(store.orders[0]?.status).toBe("FINISHED");
		expect(store.orders[0]?.updatedAt).toBe("2025-01-01T10:00:05.000Z");
		expect(toastMessages()).toEqual(["success: Order 1a2b3c… finished"]);
	});

	it("When a CANCELLED event arrives, then the reason is kept and the toast reads it out", async () => {
		const store = await storeWithOneNewOrder();

		store.applyUpdate(anOrderUpdate({ status: "CANCELLED", cancelReason: "INSUFFICIENT_FUNDS" }));

		expect(store.orders[0]).toMatchObject({
			status: "CANCELLED",
			cancelReason: "INSUFFICIENT_FUNDS",
		});
		expect(toastMessages()).toEqual(["error: Order 1a2b3c… cancelled: Insufficient funds"]);
	});

	it("When the event is for another user, then it is ignored", async () => {
		const store = await storeWithOneNewOrder();

		const changed = store.applyUpdate(anOrderUpdate({ userId: 2 }));

		expect(changed).toBe(false);
		expect(store.orders[0]?.status).toBe("NEW");
		expect(toastMessages()).toEqual([]);
	});

	it("When the user id comes as a string, then it still matches", async () => {
		const store = await storeWithOneNewOrder();

		store.applyUpdate(anOrderUpdate({ userId: "1" }));

		expect(store.orders[0]?.status).toBe("FINISHED");
	});

	it("When the same event is delivered twice, then there is one toast", async () => {
		const store = await storeWithOneNewOrder();

		store.applyUpdate(anOrderUpdate());
		const second = store.applyUpdate(anOrderUpdate());

		expect(second).toBe(false);
		expect(toastMessages()).toHaveLength(1);
	});

	it("When an event arrives for an order not yet listed, then the order is fetched and added", async () => {
		const unknown = anOrder({ id: "ffff0000-0000-4000-8000-000000000009", status: "FINISHED" });
		const { requests } = mockFetch(routes({ [`GET /api/orders/${unknown.id}`]: [200, unknown] }));
		const store = useOrdersStore();

		store.applyUpdate(anOrderUpdate({ orderId: unknown.id }));
		await new Promise(resolve => setTimeout(resolve, 0));

		expect(requests.map(r => r.path)).toEqual([`/api/orders/${unknown.id}`]);
		expect(store.orders.map(o => o.id)).toEqual([unknown.id]);
		expect(toastMessages()).toEqual(["success: Order ffff00… finished"]);
	});

	it("When a reload returns a stale NEW for an order already finished, then it stays finished", async () => {
		const store = await storeWithOneNewOrder();
		store.applyUpdate(anOrderUpdate());

		await store.load();

		expect(store.orders[0]?.status).toBe("FINISHED");
	});
});

describe("orders store: creation", () => {
	it("When an order is placed, then it is listed first with the description sent, and the summary is read again", async () => {
		const placed = anOrder({ id: "new-one", createdAt: "2025-02-01T00:00:00.000Z" });
		const { requests } = mockFetch(
			routes({
				"GET /api/orders": [200, [anOrder({ id: "old" })]],
				"POST /api/orders": [202, placed],
				"GET /api/orders/summary": [200, aSummary({ total: 2, NEW: 2 })],
			}),
		);
		const store = useOrdersStore();
		await store.load();

		const ok = await store.create(15050, "Headphones");

		expect(ok).toBe(true);
		expect(requests[1]?.body).toEqual({ amount: 15050, description: "Headphones" });
		expect(requests[1]?.headers["Idempotency-Key"]).toBeTruthy();
		expect(store.orders.map(o => o.id)).toEqual(["new-one", "old"]);
		await vi.waitFor(() => expect(useSummaryStore().summary?.total).toBe(2));
	});
});

/** A fake server holding `count` orders, newest first, that pages them by `limit` and `before`. */
function pagedServer(count: number) {
	const all = Array.from({ length: count }, (_, i) =>
		anOrder({
			id: `order-${String(count - i).padStart(3, "0")}`,
			createdAt: new Date(Date.UTC(2025, 0, 1, 0, count - i)).toISOString(),
		}),
	);
	const pages: { limit: number; before: string | null }[] = [];
	const { requests } = mockFetch(req => {
		const query = new URL(req.url).searchParams;
		if (req.path !== "/api/orders") return [404, {}];
		const limit = Number(query.get("limit"));
		const before = query.get("before");
		pages.push({ limit, before });
		const from = before ? all.findIndex(o => o.id === before) + 1 : 0;
		return [200, all.slice(from, from + limit)];
	});
	return { all, pages, requests };
}

describe("orders store: paging", () => {
	it("When the list loads, then it reads one page and offers more only when the page was full", async () => {
		const { pages } = pagedServer(PAGE_SIZE + 5);
		const store = useOrdersStore();

		await store.load();

		expect(pages).toEqual([{ limit: PAGE_SIZE, before: null }]);
		expect(store.orders).toHaveLength(PAGE_SIZE);
		expect(store.hasMore).toBe(true);
	});

	it("When more is loaded, then the next page starts before the last id shown and the end is noticed", async () => {
		const { all, pages } = pagedServer(PAGE_SIZE + 5);
		const store = useOrdersStore();
		await store.load();

		await store.loadMore();

		expect(pages[1]).toEqual({ limit: PAGE_SIZE, before: all[PAGE_SIZE - 1]?.id });
		expect(store.orders.map(o => o.id)).toEqual(all.map(o => o.id));
		expect(store.hasMore).toBe(false);
		await store.loadMore();
		expect(pages).toHaveLength(2);
	});

	it("When the list reloads after more was loaded (a reconnect), then it re-reads everything shown in one call", async () => {
		const { pages } = pagedServer(PAGE_SIZE * 2 + 3);
		const store = useOrdersStore();
		await store.load();
		await store.loadMore();

		await store.load();

		expect(pages.at(-1)).toEqual({ limit: PAGE_SIZE * 2, before: null });
		expect(store.orders).toHaveLength(PAGE_SIZE * 2);
		expect(store.hasMore).toBe(true);
	});

	it("When the user switches while a page is on its way, then the page is dropped", async () => {
		pagedServer(PAGE_SIZE + 5);
		const store = useOrdersStore();
		await store.load();

		const pending = store.loadMore();
		store.reset();
		await pending;

		expect(store.orders).toEqual([]);
		expect(store.loadingMore).toBe(false);
	});

	it("When a push names an order older than every one shown while more pages wait, then it is left for its page", async () => {
		pagedServer(PAGE_SIZE + 5);
		const store = useOrdersStore();
		await store.load();
		const old = anOrder({ id: "order-001", createdAt: "2024-01-01T00:00:00.000Z" });
		mockFetch(routes({ "GET /api/orders/order-001": [200, old] }));

		store.applyUpdate(anOrderUpdate({ orderId: "order-001" }));
		await new Promise(resolve => setTimeout(resolve, 0));

		expect(store.orders.map(o => o.id)).not.toContain("order-001");
	});
});

describe("orders store: refunds", () => {
	const finishedOrder = anOrder({ id: ORDER_ID, status: "FINISHED" });

	async function storeWithOneFinishedOrder(refundAnswers: FakeAnswer[]) {
		const { requests } = mockFetch(
			routes({
				"GET /api/orders": [200, [finishedOrder]],
				[`POST /api/orders/${ORDER_ID}/refund`]: () => refundAnswers.shift()!,
				[`GET /api/orders/${ORDER_ID}`]: [200, { ...finishedOrder, status: "REFUNDED" }],
				"GET /api/orders/summary": [200, aSummary({ total: 1, REFUNDING: 1 })],
			}),
		);
		const store = useOrdersStore();
		await store.load();
		const refunds = () => requests.filter(r => r.method === "POST");
		return { store, refunds };
	}

	it("When a refund is accepted, then the order shows REFUNDING and the money's return is awaited", async () => {
		const { store, refunds } = await storeWithOneFinishedOrder([
			[202, { ...finishedOrder, status: "REFUNDING" }],
		]);

		const ok = await store.refund(ORDER_ID);

		expect(ok).toBe(true);
		expect(refunds()[0]?.body).toBeUndefined();
		expect(refunds()[0]?.headers["Idempotency-Key"]).toMatch(/^[0-9a-f-]{36}$/);
		expect(store.orders[0]?.status).toBe("REFUNDING");
		expect(toastMessages()).toEqual(["info: Refund of order 1a2b3c… requested"]);
	});

	it("When a refund fails and is tried again, then the retry carries the same key; after a 2xx the key is spent", async () => {
		vi.useFakeTimers();
		const { store, refunds } = await storeWithOneFinishedOrder([
			apiError(500, "INTERNAL_ERROR", "boom"),
			[202, { ...finishedOrder, status: "REFUNDING" }],
			apiError(409, "ORDER_NOT_REFUNDABLE", "Order cannot be refunded"),
		]);
		const keys = () => refunds().map(r => r.headers["Idempotency-Key"]);

		expect(await store.refund(ORDER_ID)).toBe(false);
		expect(store.orders[0]?.status).toBe("FINISHED");
		expect(await store.refund(ORDER_ID)).toBe(true);
		expect(keys()[1]).toBe(keys()[0]);

		store.orders[0]!.status = "FINISHED";
		expect(await store.refund(ORDER_ID)).toBe(false);
		expect(keys()[2]).not.toBe(keys()[0]);
		vi.useRealTimers();
	});

	it("When the refund is refused as not refundable, then the message is the page's own and the order is read again", async () => {
		const { store } = await storeWithOneFinishedOrder([
			apiError(409, "ORDER_NOT_REFUNDABLE", "Order cannot be refunded"),
		]);

		await store.refund(ORDER_ID);

		expect(toastMessages()).toEqual([
			"error: This order cannot be refunded: only a finished order can",
		]);
		await vi.waitFor(() => expect(store.orders[0]?.status).toBe("REFUNDED"));
	});

	it("When a refund is on its way, then a second click sends nothing", async () => {
		const { store, refunds } = await storeWithOneFinishedOrder([
			[202, { ...finishedOrder, status: "REFUNDING" }],
		]);

		const first = store.refund(ORDER_ID);
		expect(store.refunding.has(ORDER_ID)).toBe(true);
		expect(await store.refund(ORDER_ID)).toBe(false);
		await first;

		expect(refunds()).toHaveLength(1);
		expect(store.refunding.has(ORDER_ID)).toBe(false);
	});

	it("When order.updated says REFUNDED, then the badge moves on and a toast says the money is back", async () => {
		const { store } = await storeWithOneFinishedOrder([]);
		store.applyUpdate(anOrderUpdate({ status: "REFUNDING" }));

		store.applyUpdate(anOrderUpdate({ status: "REFUNDED", amount: 123456 }));

		expect(store.orders[0]?.status).toBe("REFUNDED");
		expect(toastMessages()).toEqual([
			"success: Order 1a2b3c… refunded: 1,234.56 ₽ is back on the balance",
		]);
	});

	it("When a late FINISHED push or a stale reload arrives after REFUNDED, then the order stays refunded", async () => {
		const { store } = await storeWithOneFinishedOrder([]);
		store.applyUpdate(anOrderUpdate({ status: "REFUNDED" }));

		expect(store.applyUpdate(anOrderUpdate({ status: "FINISHED" }))).toBe(false);
		await store.load();

		expect(store.orders[0]?.status).toBe("REFUNDED");
	});

	it("When the toast is in Russian, then the amount is written the Russian way", async () => {
		const { store } = await storeWithOneFinishedOrder([]);
		setLocale("ru");

		store.applyUpdate(anOrderUpdate({ status: "REFUNDED", amount: 123456 }));

		expect(toastMessages()).toEqual([
			"success: Заказ 1a2b3c… возвращён: 1 234,56 ₽ снова на балансе",
		]);
	});
});
