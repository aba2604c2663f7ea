import { request } from "./http";
import { newIdempotencyKey } from "./idempotency";
import type { Account, LedgerEntry, Order, OrderSummary } from "./types";

/** The gateway's endpoints, one function each. Every call is made on behalf of `userId`. */

export function fetchAccount(userId: number): Promise<Account> {
	return request<Account>("/api/accounts/me", { userId });
}

export function createAccount(userId: number): Promise<Account> {
	return request<Account>("/api/accounts", { userId, method: "POST" });
}

export function topUp(userId: number, amount: number): Promise<Account> {
	return request<Account>("/api/accounts/me/top-ups", {
		userId,
		method: "POST",
		body: { amount },
		idempotencyKey: newIdempotencyKey(),
	});
}

/** `?limit=&before=`: `before` is the id of the last item of the previous page. */
function pageQuery(limit: number, before?: string | number): string {
	const query = new URLSearchParams({ limit: String(limit) });
	if (before !== undefined) query.set("before", String(before));
	return query.toString();
}

export function fetchTransactions(
	userId: number,
	limit: number,
	before?: string | number,
): Promise<LedgerEntry[]> {
	return request<LedgerEntry[]>(`/api/accounts/me/transactions?${pageQuery(limit, before)}`, {
		userId,
	});
}

/** `idempotencyKey`: the order form's key (FormIdempotencyKey), the same on a retry by hand. */
export function createOrder(
	userId: number,
	amount: number,
	description: string,
	idempotencyKey: string = newIdempotencyKey(),
): Promise<Order> {
	return request<Order>("/api/orders", {
		userId,
		method: "POST",
		body: { amount, description },
		idempotencyKey,
	});
}

export function fetchOrders(userId: number, limit: number, before?: string): Promise<Order[]> {
	return request<Order[]>(`/api/orders?${pageQuery(limit, before)}`, { userId });
}

/** Counts and the amount spent over all of the user's orders, counted by the server. */
export function fetchOrderSummary(userId: number): Promise<OrderSummary> {
	return request<OrderSummary>("/api/orders/summary", { userId });
}

/** `idempotencyKey`: the same for every try until the server confirmed (RefundKeys). */
export function refundOrder(
	userId: number,
	orderId: string,
	idempotencyKey: string,
): Promise<Order> {
	return request<Order>(`/api/orders/${encodeURIComponent(orderId)}/refund`, {
		userId,
		method: "POST",
		idempotencyKey,
	});
}

export function fetchOrder(userId: number, orderId: string): Promise<Order> {
	return request<Order>(`/api/orders/${encodeURIComponent(orderId)}`, { userId });
}
