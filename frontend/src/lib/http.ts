import { apiBaseUrl } from "./config";
import type { ApiErrorBody } from "./types";

/**
 * The server answered with an error body. The page words it from `type` in the reader's
 * language (i18n/format.ts); `serverMessage` is the server's English sentence, if any.
 */
export class ApiError extends Error {
	readonly status: number;
	readonly type: string;
	readonly data: unknown;
	readonly serverMessage: string;

	constructor(status: number, body: Partial<ApiErrorBody>) {
		super(body.message || `Request failed with status ${status}`);
		this.name = "ApiError";
		this.status = status;
		this.type = body.type || "UNKNOWN";
		this.data = body.data;
		this.serverMessage = body.message ?? "";
	}
}

/** The request never got an answer: server down, DNS, CORS, connection reset. */
export class NetworkError extends Error {
	readonly baseUrl: string;

	constructor() {
		super(`Cannot reach the server at ${apiBaseUrl()}. Is the API running?`);
		this.name = "NetworkError";
		this.baseUrl = apiBaseUrl();
	}
}

export interface RequestOptions {
	userId: number;
	method?: "GET" | "POST";
	body?: unknown;
	idempotencyKey?: string;
}

/** The headers that say who is calling; the session store installs the jwt-mode ones. */
export type Credentials = (userId: number) => Promise<Record<string, string>>;

const headerIdentity: Credentials = async userId => ({ "X-User-ID": String(userId) });
let credentials: Credentials = headerIdentity;

export function setCredentials(next: Credentials | null): void {
	credentials = next ?? headerIdentity;
}

const RETRYABLE_STATUSES = new Set([502, 503, 504]);
const RETRY_DELAYS_MS = [400, 1200];

async function sendOnce<T>(path: string, options: RequestOptions): Promise<T> {
	let headers: Record<string, string>;
	try {
		headers = { Accept: "application/json", ...(await credentials(options.userId)) };
	} catch (err) {
		// No token could be had (the dev issuer is unreachable): as a 401 the UI already explains.
		throw new ApiError(401, { message: (err as Error).message, type: "UNAUTHORIZED" });
	}
	if (options.body !== undefined) headers["Content-Type"] = "application/json";
	if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;

	let response: Response;
	try {
		response = await fetch(`${apiBaseUrl()}${path}`, {
			method: options.method ?? "GET",
			headers,
			body: options.body === undefined ? undefined : JSON.stringify(options.body),
		});
	} catch {
		throw new NetworkError();
	}

	const payload: unknown = await response.json().catch(() => undefined);
	if (!response.ok) throw new ApiError(response.status, (payload ?? {}) as Partial<ApiErrorBody>);
	return payload as T;
}

function isRetryable(err: unknown): boolean {
	return (
		err instanceof NetworkError || (err instanceof ApiError && RETRYABLE_STATUSES.has(err.status))
	);
}

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

/**
 * One API call. A request carrying an Idempotency-Key is retried with the same key when the
 * answer is lost (network error, 502/503/504): the server replays the first result, so a flaky
 * connection never turns into a double charge. Requests without a key are not retried here.
 */
export async function request<T>(path: string, options: RequestOptions): Promise<T> {
	const delays = options.idempotencyKey ? RETRY_DELAYS_MS : [];
	for (let attempt = 0; ; attempt++) {
		try {
			return await sendOnce<T>(path, options);
		} catch (err) {
			const delay = delays[attempt];
			if (delay === undefined || !isRetryable(err)) throw err;
			await sleep(delay);
		}
	}
}
