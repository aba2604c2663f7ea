import type { Knex } from "knex";
import type { HandledBatch, IncomingMessage } from "../../lib/messaging";

/**
 * What a batch of a payments consumer (payments or refunds) did, beside its results. Each batch
 * is ONE transaction: inbox rows (a redelivered message is skipped), the accounts locked with
 * SELECT ... FOR UPDATE in user-id order, the balance changes and ledger entries, and the
 * results in the outbox; the consumer acknowledges the messages only after the commit.
 * `duplicates` is for the consumer's count, `changedUsers` for the cache.
 */
export interface AccountsBatch extends HandledBatch {
	/** Users whose balance the batch changed: their cached reads are forgotten after the commit. */
	changedUsers: number[];
}

/** A use case run as an AccountsBatch: `work` gets the batch's one transaction. */
export function accountsBatch<T, R extends AccountsBatch>(
	work: (trx: Knex.Transaction, batch: IncomingMessage<T>[]) => Promise<R>,
): (knex: Knex, batch: IncomingMessage<T>[]) => Promise<R> {
	return (knex, batch) => knex.transaction(trx => work(trx, batch));
}
