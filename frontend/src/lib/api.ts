import { request } from "./http";
import { newIdempotencyKey } from "./idempotency";
import type { Account, LedgerEntry, Order } from "./types";

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

export function fetchTransactions(userId: number, limit = 100): Promise<LedgerEntry[]> {
	return request<LedgerEntry[]>(`/api/accounts/me/transactions?limit=${limit}`, { userId });
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

export function fetchOrders(userId: number, limit = 1000): Promise<Order[]> {
	return request<Order[]>(`/api/orders?limit=${limit}`, { userId });
}

export function fetchOrder(userId: number, orderId: string): Promise<Order> {
	return request<Order>(`/api/orders/${encodeURIComponent(orderId)}`, { userId });
}
