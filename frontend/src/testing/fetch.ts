import { vi } from "vitest";

export interface RecordedRequest {
	method: string;
	url: string;
	path: string;
	headers: Record<string, string>;
	body: unknown;
}

/** What a test's fake server answers: [status, JSON body], or "network" for a failed connection. */
export type FakeAnswer = [number, unknown] | "network";

/**
 * Replaces global fetch with a fake server. `answer` sees each request and returns the reply;
 * every request is recorded so tests can assert on headers and bodies.
 */
export function mockFetch(answer: (req: RecordedRequest) => FakeAnswer) {
	const requests: RecordedRequest[] = [];
	const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
		const url = String(input);
		const req: RecordedRequest = {
			method: init.method ?? "GET",
			url,
			path: new URL(url).pathname,
			headers: { ...(init.headers as Record<string, string>) },
			body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
		};
		requests.push(req);
		const reply = answer(req);
		if (reply === "network") throw new TypeError("Failed to fetch");
		const [status, body] = reply;
		return new Response(body === undefined ? null : JSON.stringify(body), {
			status,
			headers: { "Content-Type": "application/json" },
		});
	});
	vi.stubGlobal("fetch", fetchMock);
	return { requests, fetchMock };
}

/** A route table for mockFetch: "METHOD /path" → answer; anything else is a 404. */
export function routes(table: Record<string, FakeAnswer | (() => FakeAnswer)>) {
	return (req: RecordedRequest): FakeAnswer => {
		const entry = table[`${req.method} ${req.path}`];
		if (!entry)
			return [404, { name: "NotFound", message: "Not found", code: 404, type: "NOT_FOUND" }];
		return typeof entry === "function" ? entry() : entry;
	};
}

export function apiError(code: number, type: string, message: string): FakeAnswer {
	return [code, { name: "Error", message, code, type }];
}
