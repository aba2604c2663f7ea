import { afterEach, describe, expect, it, vi } from "vitest";
import { apiError, mockFetch } from "../testing/fetch";
import { createOrder, fetchAccount, topUp } from "./api";
import { errorText } from "../i18n/format";
import { ApiError, NetworkError } from "./http";

afterEach(() => {
	vi.useRealTimers();
});

describe("API client", () => {
	it("When any endpoint is called, then it goes to :8000 on the page's host with X-User-ID", async () => {
		const { requests } = mockFetch(() => [200, { userId: 42, balance: 0 }]);

		await fetchAccount(42);

		expect(requests[0]?.url).toBe("http://localhost:8000/api/accounts/me");
		expect(requests[0]?.headers["X-User-ID"]).toBe("42");
		expect(requests[0]?.headers["Idempotency-Key"]).toBeUndefined();
	});

	it("When two top-ups are made, then each carries its own Idempotency-Key and the amount in kopecks", async () => {
		const { requests } = mockFetch(() => [200, { userId: 1, balance: 15050 }]);

		await topUp(1, 15050);
		await topUp(1, 15050);

		expect(requests.map(r => r.body)).toEqual([{ amount: 15050 }, { amount: 15050 }]);
		const keys = requests.map(r => r.headers["Idempotency-Key"]);
		expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
		expect(keys[0]).not.toBe(keys[1]);
	});

	it("When the answer to an order POST is lost, then it is retried with the same key", async () => {
		vi.useFakeTimers();
		let calls = 0;
		const { requests } = mockFetch(() =>
			++calls === 1 ? "network" : [202, { id: "o1", status: "NEW" }],
		);

		const pending = createOrder(1, 500, "Tea");
		await vi.runAllTimersAsync();
		await pending;

		expect(requests).toHaveLength(2);
		expect(requests[0]?.headers["Idempotency-Key"]).toBe(requests[1]?.headers["Idempotency-Key"]);
	});

	it("When a plain GET fails on the network, then it is not retried and says the server is unreachable", async () => {
		const { requests } = mockFetch(() => "network");

		const error = await fetchAccount(1).catch((e: unknown) => e);

		expect(requests).toHaveLength(1);
		expect(error).toBeInstanceOf(NetworkError);
		expect(errorText(error)).toBe(
			"Cannot reach the server at http://localhost:8000. Is the API running?",
		);
	});

	it("When the server answers an error body, then its type is kept and worded by the page", async () => {
		mockFetch(() => apiError(422, "IDEMPOTENCY_KEY_REUSED", "This key was already used"));

		const error = await topUp(1, 100).catch((e: unknown) => e);

		expect(error).toBeInstanceOf(ApiError);
		expect(error).toMatchObject({
			status: 422,
			type: "IDEMPOTENCY_KEY_REUSED",
			serverMessage: "This key was already used",
		});
		expect(errorText(error)).toBe("This request was already sent with other values");
	});

	it("When the error type is one the page does not know, then English shows the server's sentence", async () => {
		mockFetch(() => apiError(409, "SOMETHING_NEW", "Something new went wrong"));

		const error = await topUp(1, 100).catch((e: unknown) => e);

		expect(errorText(error)).toBe("Something new went wrong");
	});

	it("When an error has no JSON body, then the message still names the status", async () => {
		vi.stubGlobal(
			"fetch",
			vi.fn(async () => new Response("<html>Bad gateway</html>", { status: 500 })),
		);

		const error = await fetchAccount(1).catch((e: unknown) => e);

		expect(errorText(error)).toBe("The server answered with an error (500)");
	});
});
