import { beforeEach, describe, expect, it } from "vitest";
import { mockFetch, routes } from "../testing/fetch";
import { aSummary } from "../testing/fixtures";
import { useSessionStore } from "./session";
import { useSummaryStore } from "./summary";
import { useToastsStore } from "./toasts";
import { freshStores } from "../testing/stores";

beforeEach(() => {
	freshStores();
	useSessionStore().setUserId(7);
});

describe("summary store", () => {
	it("When loaded, then it holds the server's summary for the current user", async () => {
		const { requests } = mockFetch(
			routes({ "GET /api/orders/summary": [200, aSummary({ FINISHED: 3, spent: 900 })] }),
		);
		const store = useSummaryStore();

		await store.load();

		expect(requests[0]?.headers["X-User-ID"]).toBe("7");
		expect(store.status).toBe("ready");
		expect(store.summary).toEqual(aSummary({ FINISHED: 3, spent: 900 }));
	});

	it("When a refresh fails, then the last summary stays and no toast repeats the outage", async () => {
		let up = true;
		mockFetch(() => (up ? [200, aSummary({ NEW: 1 })] : "network"));
		const store = useSummaryStore();
		await store.load();

		up = false;
		await store.load();

		expect(store.status).toBe("ready");
		expect(store.summary?.total).toBe(1);
		expect(useToastsStore().toasts).toEqual([]);
	});

	it("When the first read fails, then the status says error", async () => {
		mockFetch(() => "network");
		const store = useSummaryStore();

		await store.load();

		expect(store.status).toBe("error");
	});
});
