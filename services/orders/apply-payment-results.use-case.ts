import type { Knex } from "knex";
import { isRefundResult, OrderUpdated, PaymentResult, RefundResult } from "../../lib/contracts";
import type { IncomingMessage } from "../../lib/messaging";
import { InboxStore } from "../../lib/messaging";
import { applyResults } from "./order.repository";
import { orderUpdated } from "./order-status.publisher";
import { applyRefundResults } from "./refund.repository";

const inbox = new InboxStore("orders.payment-results");

export interface AppliedResults {
	changed: OrderUpdated[];
	duplicates: number;
	/** New REFUND_REFUSED answers: payments holds no such debit; the order is left as it is. */
	refundsRefused: RefundResult[];
}

/**
 * Records the results in the inbox and moves their orders: NEW → FINISHED or CANCELLED for a
 * payment, REFUNDING → REFUNDED for a refund; never out of any other status. Payments and
 * refunds are each one statement (inbox and update together); a crash between the two
 * redelivers the batch, and the inbox then skips the half already applied. Redelivered
 * messages, and results for orders not in the expected status, change nothing.
 */
export async function applyPaymentResults(
	knex: Knex,
	batch: IncomingMessage<PaymentResult | RefundResult>[],
): Promise<AppliedResults> {
	const payments = batch.filter(m => !isRefundResult(m.body)) as IncomingMessage<PaymentResult>[];
	const refunds = batch.filter(m => isRefundResult(m.body)) as IncomingMessage<RefundResult>[];
	const paid = await applyResults(
		knex,
		payments.map(m => ({ messageId: m.messageId, result: m.body })),
		inbox.recordNewFragment(payments.map(m => m.messageId)),
	);
	const refunded = await applyRefundResults(
		knex,
		refunds.map(m => ({
			messageId: m.messageId,
			refundedOrderId: m.body.status === "REFUNDED" ? m.body.orderId : undefined,
		})),
		inbox.recordNewFragment(refunds.map(m => m.messageId)),
	);
	return {
		changed: [...paid.changed, ...refunded.changed].map(orderUpdated),
		duplicates: batch.length - paid.fresh - refunded.fresh.size,
		refundsRefused: refunds
			.filter(m => m.body.status === "REFUND_REFUSED" && refunded.fresh.has(m.messageId))
			.map(m => m.body),
	};
}
