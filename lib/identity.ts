import type { Context } from "moleculer";
import { isUserId } from "./contracts";
import { UnauthorizedError } from "./errors";

/** What the gateway puts in ctx.meta for every /api call. */
export interface RequestMeta {
	userId?: number;
	idempotencyKey?: string;
}

/** A user id written out (X-User-ID, a handshake's auth.userId): 1 to 16 digits, no leading zero. */
export const USER_ID_PATTERN = /^[1-9][0-9]{0,15}$/;

/** The user id the text writes out, or undefined when it is not one (USER_ID_PATTERN, a safe integer). */
export function parseUserId(text: string): number | undefined {
	return USER_ID_PATTERN.test(text) && Number.isSafeInteger(Number(text))
		? Number(text)
		: undefined;
}

/** The caller's user id; actions refuse to run without one (e.g. a bare REPL call). */
export function requireUserId(ctx: Context<unknown, RequestMeta>): number {
	const userId = ctx.meta.userId;
	if (!isUserId(userId)) throw new UnauthorizedError("meta.userId must be a positive integer");
	return userId;
}
