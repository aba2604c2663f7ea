import { randomUUID } from "crypto";
import type { Knex } from "knex";
import type { OrderToPay, PaymentResult } from "../../lib/contracts";
import { IncomingMessage, InboxStore, OutboxStore, Queues } from "../../lib/messaging";
import type { AccountsBatch } from "./accounts-batch";
import { payBatch } from "./payment.repository";

const inbox = new InboxStore("payments.orders-to-pay");
const outbox = new OutboxStore();

export interface PaidBatch extends AccountsBatch {
	/** Recorded decisions sent again, for orders asked for under a new message id. */
	resent: PaymentResult[];
}

/**
 * Pays a batch of orders in one statement (payBatch: the inbox, the account locks, the payment
 * rule, debits or refusals, the ledger and the results), committed on its own. The
 * order_payments primary key and the ledger's unique order_id make a second debit of the same
 * order impossible even if it arrived under another message id. Such a repeat (the stuck-order
 * sweeper asking again) is answered with the recorded decision, through the outbox like the
 * first answer: the first may have been lost (dead-lettered), and orders ignores a result for
 * an order already final.
 */
export async function payOrders(
	knex: Knex,
	batch: IncomingMessage<OrderToPay>[],
): Promise<PaidBatch> {
	const paid = await payBatch(
		knex,
		ids => inbox.recordNewFragment(ids),
		outbox,
		Queues.paymentResults,
		batch.map(m => ({ messageId: m.messageId, body: m.body, resultId: randomUUID() })),
	);
	outbox.inserted(knex, Queues.paymentResults, paid.messages);
	return {
		resent: paid.resent,
		duplicates: batch.length - paid.decided,
		changedUsers: paid.changedUsers,
	};
}
