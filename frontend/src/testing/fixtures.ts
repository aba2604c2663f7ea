import type { Account, Order } from "../lib/types";

export function anAccount(overrides: Partial<Account> = {}): Account {
	return {
		userId: 1,
		balance: 0,
		currency: "RUB",
		createdAt: "2025-01-01T10:00:00.000Z",
		updatedAt: "2025-01-01T10:00:00.000Z",
		...overrides,
	};
}

export function anOrder(overrides: Partial<Order> = {}): Order {
	return {
		id: "1a2b3c4d-0000-4000-8000-000000000001",
		userId: 1,
		amount: 15050,
		description: "Headphones",
		status: "NEW",
		createdAt: "2025-01-01T10:00:00.000Z",
		updatedAt: "2025-01-01T10:00:00.000Z",
		...overrides,
	};
}
