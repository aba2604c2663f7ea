/**
 * A fresh key per user action. crypto.randomUUID only exists in secure contexts (https or
 * localhost), and the dashboard may be opened over plain http on a LAN address, so fall back
 * to building a v4 UUID from getRandomValues, which is available everywhere.
 */
export function newIdempotencyKey(): string {
	if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
	bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
	const hex = Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The key of a form that places something once, e.g. the order form. It stays the same for
 * as long as the form holds the same values and the server has not confirmed them: a second
 * click after an error (a timeout, a 5xx, a lost answer) retries the same order, which the
 * server replays, instead of placing another one. Changed values are another order and get a
 * new key; so does the next order once this one is confirmed.
 */
export class FormIdempotencyKey {
	private current: { key: string; values: string } | null = null;

	/** The key to send these values with. */
	for(values: unknown): string {
		const json = JSON.stringify(values);
		if (!this.current || this.current.values !== json)
			this.current = { key: newIdempotencyKey(), values: json };
		return this.current.key;
	}

	/** The server confirmed (2xx): the next submit is a new order. */
	confirmed(): void {
		this.current = null;
	}
}

/**
 * One key per target of an action that has no form values, e.g. the refund of one order:
 * every try of that refund carries the same key until the server confirmed it (2xx), so a
 * retry after a lost answer or an error is replayed by the server rather than done twice.
 */
export class IdempotencyKeys {
	private readonly keys = new Map<string, string>();

	for(target: string): string {
		let key = this.keys.get(target);
		if (!key) {
			key = newIdempotencyKey();
			this.keys.set(target, key);
		}
		return key;
	}

	confirmed(target: string): void {
		this.keys.delete(target);
	}
}
