import type { Account, Order, OrderStatus, OrderSummary, OrderUpdatedEvent } from "../lib/types";

/** When the fixtures' account and order were created and last updated. */
const STAMPS = { createdAt: "2025-01-01T10:00:00.000Z", updatedAt: "2025-01-01T10:00:00.000Z" };

export function anAccount(overrides: Partial<Account> = {}): Account {
	return { userId: 1, balance: 0, currency: "RUB", ...STAMPS, ...overrides };
}

export function anOrder(overrides: Partial<Order> = {}): Order {
	return {
		id: "1a2b3c4d-0000-4000-8000-000000000001",
		userId: 1,
		amount: 15050,
		description: "Headphones",
		status: "NEW",
		...STAMPS,
		...overrides,
	};
}

/** The `order.updated` push of anOrder(): FINISHED unless told otherwise. */
export function anOrderUpdate(overrides: Partial<OrderUpdatedEvent> = {}): OrderUpdatedEvent {
	const { id: orderId, userId, amount } = anOrder();
	const updatedAt = "2025-01-01T10:00:05.000Z";
	return { orderId, userId, status: "FINISHED", amount, updatedAt, ...overrides };
}

export function aSummary(
	counts: Partial<Record<OrderStatus, number>> & { total?: number; spent?: number } = {},
): OrderSummary {
	const { total, spent, ...byStatus } = counts;
	const full = { NEW: 0, FINISHED: 0, CANCELLED: 0, REFUNDING: 0, REFUNDED: 0, ...byStatus };
	return {
		total: total ?? Object.values(full).reduce((a, b) => a + b, 0),
		byStatus: full,
		spent: spent ?? 0,
	};
}
