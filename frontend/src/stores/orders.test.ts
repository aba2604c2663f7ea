import { createPinia, setActivePinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import type { OrderUpdatedEvent } from "../lib/types";
import { mockFetch, routes } from "../testing/fetch";
import { anOrder } from "../testing/fixtures";
import { useOrdersStore } from "./orders";
import { useSessionStore } from "./session";
import { useToastsStore } from "./toasts";

const ORDER_ID = "1a2b3c4d-0000-4000-8000-000000000001";

function finishedEvent(overrides: Partial<OrderUpdatedEvent> = {}): OrderUpdatedEvent {
	return {
		orderId: ORDER_ID,
		userId: 1,
		status: "FINISHED",
		amount: 15050,
		updatedAt: "2025-01-01T10:00:05.000Z",
		...overrides,
	};
}

async function storeWithOneNewOrder() {
	mockFetch(routes({ "GET /api/orders": [200, [anOrder({ id: ORDER_ID })]] }));
	const store = useOrdersStore();
	await store.load();
	return store;
}

const toastMessages = () => useToastsStore().toasts.map(t => `${t.kind}: ${t.message}`);

beforeEach(() => {
	localStorage.clear();
	setActivePinia(createPinia());
	useSessionStore().setUserId(1);
});

describe("orders store: order.updated", () => {
	it("When a FINISHED event arrives for a listed order, then its status changes and a toast says so", async () => {
		const store = await storeWithOneNewOrder();

		const changed = store.applyUpdate(finishedEvent());

		expect(changed).toBe(true);
		expect(store.orders[0]?.status).toBe("FINISHED");
		expect(store.orders[0]?.updatedAt).toBe("2025-01-01T10:00:05.000Z");
		expect(toastMessages()).toEqual(["success: Order 1a2b3c… finished"]);
	});

	it("When a CANCELLED event arrives, then the reason is kept and the toast reads it out", async () => {
		const store = await storeWithOneNewOrder();

		store.applyUpdate(finishedEvent({ status: "CANCELLED", cancelReason: "INSUFFICIENT_FUNDS" }));

		expect(store.orders[0]).toMatchObject({
			status: "CANCELLED",
			cancelReason: "INSUFFICIENT_FUNDS",
		});
		expect(toastMessages()).toEqual(["error: Order 1a2b3c… cancelled: Insufficient funds"]);
	});

	it("When the event is for another user, then it is ignored", async () => {
		const store = await storeWithOneNewOrder();

		const changed = store.applyUpdate(finishedEvent({ userId: 2 }));

		expect(changed).toBe(false);
		expect(store.orders[0]?.status).toBe("NEW");
		expect(toastMessages()).toEqual([]);
	});

	it("When the user id comes as a string, then it still matches", async () => {
		const store = await storeWithOneNewOrder();

		store.applyUpdate(finishedEvent({ userId: "1" }));

		expect(store.orders[0]?.status).toBe("FINISHED");
	});

	it("When the same event is delivered twice, then there is one toast", async () => {
		const store = await storeWithOneNewOrder();

		store.applyUpdate(finishedEvent());
		const second = store.applyUpdate(finishedEvent());

		expect(second).toBe(false);
		expect(toastMessages()).toHaveLength(1);
	});

	it("When an event arrives for an order not yet listed, then the order is fetched and added", async () => {
		const unknown = anOrder({ id: "ffff0000-0000-4000-8000-000000000009", status: "FINISHED" });
		const { requests } = mockFetch(routes({ [`GET /api/orders/${unknown.id}`]: [200, unknown] }));
		const store = useOrdersStore();

		store.applyUpdate(finishedEvent({ orderId: unknown.id }));
		await new Promise(resolve => setTimeout(resolve, 0));

		expect(requests.map(r => r.path)).toEqual([`/api/orders/${unknown.id}`]);
		expect(store.orders.map(o => o.id)).toEqual([unknown.id]);
		expect(toastMessages()).toEqual(["success: Order ffff00… finished"]);
	});

	it("When a reload returns a stale NEW for an order already finished, then it stays finished", async () => {
		const store = await storeWithOneNewOrder();
		store.applyUpdate(finishedEvent());

		await store.load();

		expect(store.orders[0]?.status).toBe("FINISHED");
	});
});

describe("orders store: totals and creation", () => {
	it("When orders are loaded, then total spent counts only FINISHED amounts", async () => {
		mockFetch(
			routes({
				"GET /api/orders": [
					200,
					[
						anOrder({ id: "a", amount: 10, status: "FINISHED" }),
						anOrder({ id: "b", amount: 20, status: "FINISHED" }),
						anOrder({ id: "c", amount: 500, status: "CANCELLED" }),
						anOrder({ id: "d", amount: 700, status: "NEW" }),
					],
				],
			}),
		);
		const store = useOrdersStore();

		await store.load();

		expect(store.finished).toHaveLength(2);
		expect(store.totalSpent).toBe(30);
	});

	it("When an order is placed, then it is listed first with the description sent", async () => {
		const placed = anOrder({ id: "new-one", createdAt: "2025-02-01T00:00:00.000Z" });
		const { requests } = mockFetch(
			routes({
				"GET /api/orders": [200, [anOrder({ id: "old" })]],
				"POST /api/orders": [202, placed],
			}),
		);
		const store = useOrdersStore();
		await store.load();

		const ok = await store.create(15050, "Headphones");

		expect(ok).toBe(true);
		expect(requests[1]?.body).toEqual({ amount: 15050, description: "Headphones" });
		expect(requests[1]?.headers["Idempotency-Key"]).toBeTruthy();
		expect(store.orders.map(o => o.id)).toEqual(["new-one", "old"]);
	});
});
