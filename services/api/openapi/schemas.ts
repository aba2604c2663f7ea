/**
 * The component schemas of the success and error bodies. Each is tied by `objectSchema<T>()`
 * to the type the code returns (tsc fails if they part), and every enum comes from its one
 * home (lib/contracts.ts, lib/errors.ts, lib/observability/health.ts).
 */
import {
	CANCEL_REASONS,
	MAX_AMOUNT,
	ORDER_STATUSES,
	type OrderUpdated,
} from "../../../lib/contracts";
import { ErrorTypes, type PublicError } from "../../../lib/errors";
import type {
	Account,
	LedgerEntry as LedgerRow,
	Order,
	OrderSummary,
} from "../../../lib/api-types";
import { examples } from "./examples";
import { allOf, objectSchema, type Schema } from "./json-schema";
import { readinessSchemas } from "./readiness-schemas";

const dateTime = { type: "string", format: "date-time" } as const;
const userId = {
	type: "integer",
	minimum: 1,
	maximum: Number.MAX_SAFE_INTEGER,
	description: "The account owner (X-User-ID).",
} as const;
const cancelReason = {
	type: "string",
	enum: CANCEL_REASONS,
	description: "Why a CANCELLED order was refused; absent otherwise.",
} as const;

export function componentSchemas(): Record<string, Schema> {
	return {
		Account: objectSchema<Account>()({
			type: "object",
			required: ["userId", "balance", "currency", "createdAt", "updatedAt"],
			properties: {
				userId,
				balance: { type: "integer", minimum: 0, description: "Kopecks." },
				currency: { type: "string", enum: ["RUB"] },
				createdAt: dateTime,
				updatedAt: dateTime,
			},
			example: examples.Account,
		}),
		Order: objectSchema<Order>()({
			type: "object",
			required: ["id", "userId", "amount", "description", "status", "createdAt", "updatedAt"],
			properties: {
				id: { type: "string", format: "uuid" },
				userId,
				amount: { type: "integer", minimum: 1, maximum: MAX_AMOUNT, description: "Kopecks." },
				description: { type: "string", minLength: 1, maxLength: 500 },
				status: {
					type: "string",
					enum: ORDER_STATUSES,
					description:
						"NEW until payments has decided; then FINISHED (paid) or CANCELLED (refused, final). A refund moves FINISHED to REFUNDING, then REFUNDED (final) once the money is back.",
				},
				cancelReason,
				createdAt: dateTime,
				updatedAt: dateTime,
			},
			example: examples.Order,
		}),
		LedgerEntry: {
			type: "object",
			required: ["id", "kind", "amount", "balanceAfter", "createdAt"],
			properties: {
				id: { type: "integer", minimum: 1, description: "Use as `before` for the next page." },
				kind: {
					type: "string",
					enum: allOf<LedgerRow["kind"]>()(["TOP_UP", "ORDER_PAYMENT", "ORDER_REFUND"]),
				},
				amount: {
					type: "integer",
					description:
						"Kopecks, signed: positive for a top-up or a refund, negative for a payment.",
				},
				balanceAfter: { type: "integer", minimum: 0 },
				orderId: {
					type: "string",
					format: "uuid",
					description: "The paid or refunded order (ORDER_PAYMENT and ORDER_REFUND only).",
				},
				createdAt: dateTime,
			},
			example: examples.LedgerEntry,
		},
		OrderSummary: objectSchema<OrderSummary>()({
			type: "object",
			required: ["total", "byStatus", "spent"],
			properties: {
				total: { type: "integer", minimum: 0, description: "All of the caller's orders." },
				byStatus: {
					type: "object",
					required: [...ORDER_STATUSES],
					properties: Object.fromEntries(
						ORDER_STATUSES.map(s => [s, { type: "integer", minimum: 0 }]),
					),
					additionalProperties: false,
				},
				spent: {
					type: "integer",
					minimum: 0,
					description: "Kopecks of the FINISHED orders (refunded ones no longer count).",
				},
			},
			example: examples.OrderSummary,
		}),
		Error: objectSchema<PublicError>()({
			type: "object",
			required: ["name", "message", "code", "type"],
			properties: {
				name: { type: "string" },
				message: { type: "string", description: "For people; may change." },
				code: { type: "integer", minimum: 400, maximum: 599, description: "The HTTP status." },
				type: {
					type: "string",
					enum: Object.values(ErrorTypes),
					description: "Stable: switch on this.",
				},
				data: {
					description:
						"Details: for VALIDATION_ERROR the failed fields ({ field, message, type }), otherwise an object.",
				},
			},
		}),
		OrderUpdated: objectSchema<OrderUpdated>()({
			type: "object",
			description: "The socket.io `order.updated` event (see the API description).",
			required: ["orderId", "userId", "status", "amount", "updatedAt"],
			properties: {
				orderId: { type: "string", format: "uuid" },
				userId,
				status: { type: "string", enum: ORDER_STATUSES },
				amount: { type: "integer", minimum: 1, maximum: MAX_AMOUNT },
				cancelReason,
				updatedAt: dateTime,
			},
			example: examples.OrderUpdated,
		}),
		...readinessSchemas(),
	};
}
