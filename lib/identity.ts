import type { Context } from "moleculer";
import { isUserId } from "./contracts";
import { UnauthorizedError } from "./errors";

/** What the gateway puts in ctx.meta for every /api call. */
export interface RequestMeta {
	userId?: number;
	idempotencyKey?: string;
}

/** The caller's user id; actions refuse to run without one (e.g. a bare REPL call). */
export function requireUserId(ctx: Context<unknown, RequestMeta>): number {
	const userId = ctx.meta.userId;
	if (!isUserId(userId)) throw new UnauthorizedError("meta.userId must be a positive integer");
	return userId;
}
