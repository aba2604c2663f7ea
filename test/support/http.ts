/**
 * A parsed JSON body, typed as JSON.parse types it: the tests read its fields freely and assert
 * what they expect of them.
 */
export type Json = ReturnType<typeof JSON.parse>;

export interface Reply<T = Json> {
	status: number;
	body: T;
	headers?: Headers;
}

export interface RequestOptions {
	userId?: number | string;
	body?: unknown;
	/** Sent as is instead of JSON.stringify(body). */
	rawBody?: string;
	headers?: Record<string, string>;
}

/** A tiny client of the public HTTP API. */
export function apiClient(baseUrl: string) {
	return async function api<T = Json>(
		method: string,
		path: string,
		opts: RequestOptions = {},
	): Promise<Reply<T>> {
		const headers: Record<string, string> = { ...(opts.headers ?? {}) };
		if (opts.userId !== undefined) headers["X-User-ID"] = String(opts.userId);
		let body: string | undefined;
		if (opts.rawBody !== undefined || opts.body !== undefined) {
			headers["Content-Type"] = "application/json";
			body = opts.rawBody ?? JSON.stringify(opts.body);
		}
		const res = await fetch(baseUrl + path, { method, headers, body });
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = JSON.parse(text);
		} catch {
			// not JSON
		}
		return { status: res.status, body: parsed as T, headers: res.headers };
	};
}

let nextUser = Math.floor(Date.now() / 1000) * 1000 + Math.floor(Math.random() * 1000);
/** A user id no other test uses in this run. */
export const newUserId = () => ++nextUser;

export async function eventually<T>(
	probe: () => Promise<T | undefined | false>,
	what: string,
	timeoutMs = 20_000,
	intervalMs = 50,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise(r => setTimeout(r, intervalMs));
	}
}
