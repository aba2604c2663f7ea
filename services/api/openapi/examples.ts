/** Sample bodies of the document, typed by what the code returns so they stay true. */
import type { OrderUpdated } from "../../../lib/contracts";
import type { Account, Order, OrderSummary } from "../../../lib/api-types";
import type { ReadinessReport } from "../readiness";
import type { ReadinessSummary } from "../readiness-summary";

export const SAMPLE_USER = 42;
export const SAMPLE_ORDER = "0b6f2f8e-3d53-4b8e-9f3e-5a1c2d3e4f50";

export const examples = {
	Account: {
		userId: SAMPLE_USER,
		balance: 7500,
		currency: "RUB",
		createdAt: "2026-01-15T09:30:00.000Z",
		updatedAt: "2026-01-15T09:31:12.345Z",
	} satisfies Account,
	Order: {
		id: SAMPLE_ORDER,
		userId: SAMPLE_USER,
		amount: 2500,
		description: "Book",
		status: "NEW",
		createdAt: "2026-01-15T09:31:12.345Z",
		updatedAt: "2026-01-15T09:31:12.345Z",
	} satisfies Order,
	OrderSummary: {
		total: 12,
		byStatus: { NEW: 1, FINISHED: 8, CANCELLED: 2, REFUNDING: 0, REFUNDED: 1 },
		spent: 96500,
	} satisfies OrderSummary,
	LedgerEntry: {
		id: 1017,
		kind: "ORDER_PAYMENT",
		amount: -2500,
		balanceAfter: 7500,
		orderId: SAMPLE_ORDER,
		createdAt: "2026-01-15T09:31:12.402Z",
	},
	OrderUpdated: {
		orderId: SAMPLE_ORDER,
		userId: SAMPLE_USER,
		status: "CANCELLED",
		amount: 2500,
		cancelReason: "INSUFFICIENT_FUNDS",
		updatedAt: "2026-01-15T09:31:12.410Z",
	} satisfies OrderUpdated,
	Liveness: { status: "ok" },
	// What a gateway answers by default (HEALTH_DETAILS=false): no node ids, no error text.
	ReadinessReady: {
		status: "ready",
		checks: {
			gateway: { status: "up", checks: { redis: { status: "up" }, transporter: { status: "up" } } },
			orders: {
				status: "up",
				checks: { postgres: { status: "up" }, rabbitmq: { status: "up" }, redis: { status: "up" } },
			},
			payments: {
				status: "up",
				checks: { postgres: { status: "up" }, rabbitmq: { status: "up" }, redis: { status: "up" } },
			},
		},
		failing: [],
		degraded: [],
	} satisfies ReadinessSummary,
	ReadinessNotReady: {
		status: "not_ready",
		checks: {
			gateway: { status: "up", checks: { redis: { status: "up" }, transporter: { status: "up" } } },
			orders: {
				status: "down",
				checks: {
					postgres: { status: "down" },
					rabbitmq: { status: "up" },
					redis: { status: "up" },
				},
			},
			payments: { status: "down", checks: {} },
		},
		failing: ["orders/postgres", "payments"],
		degraded: [],
	} satisfies ReadinessSummary,
	// With HEALTH_DETAILS=true: every node and each failure's error.
	ReadinessDetails: {
		status: "not_ready",
		checks: {
			gateway: {
				nodeID: "gateway-host-101",
				service: "api",
				status: "up",
				checks: {
					redis: { status: "up", latencyMs: 1 },
					transporter: { status: "up", latencyMs: 0 },
				},
			},
			orders: {
				status: "down",
				nodes: [
					{
						nodeID: "orders-host-102",
						service: "orders",
						status: "down",
						checks: {
							postgres: { status: "down", error: "no answer within 2000 ms" },
							rabbitmq: { status: "up", latencyMs: 0 },
							redis: { status: "up", latencyMs: 1 },
						},
					},
				],
			},
			payments: { status: "down", error: "no payments node is available", nodes: [] },
		},
		failing: ["orders/orders-host-102/postgres", "payments"],
		degraded: [],
	} satisfies ReadinessReport,
};
