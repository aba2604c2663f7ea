import { AsyncLocalStorage } from "async_hooks";
import type { Knex } from "knex";
import type { OutgoingMessage } from "./publisher";

/**
 * The unit of work under way (MessagingRuntime.write): whether it has written outbox rows, and
 * which of them it knows to be committed, or to be committed with a transaction still open.
 */
interface Unit {
	wrote: boolean;
	committed: OutgoingMessage[];
	inTransaction: { committed: Promise<boolean>; messages: OutgoingMessage[] }[];
}

const current = new AsyncLocalStorage<Unit>();

/**
 * Called by OutboxStore for each outbox insert it builds: the unit of work under way, if any,
 * writes outbox rows. The insert is made inside the work's transaction (or its single
 * statement), so once the work has resolved those rows are committed, or were never written.
 */
export function noteOutboxWrite(): void {
	const unit = current.getStore();
	if (unit) unit.wrote = true;
}

/**
 * Called when a statement holding an outbox insert has run without error on `db`. Run on its
 * own, the statement has committed its rows; run in a transaction, they count only if that
 * transaction commits (a rolled-back one, or one whose work failed, publishes nothing).
 */
export function noteOutboxInserted(db: Knex | Knex.Transaction, messages: OutgoingMessage[]): void {
	const unit = current.getStore();
	if (!unit) return;
	if (!db.isTransaction) {
		unit.committed.push(...messages);
		return;
	}
	let outermost = db as Knex.Transaction;
	while (outermost.parentTransaction) outermost = outermost.parentTransaction;
	unit.inTransaction.push({
		committed: outermost.executionPromise.then(
			() => true,
			() => false,
		),
		messages,
	});
}

/**
 * Runs `work` as a unit of its own. Says whether it made an outbox insert, and gives the
 * messages of the inserts that ran and were committed (the work's transactions have settled by
 * the time it resolves); an insert whose statement failed is in neither list.
 */
export async function trackOutboxWrites<T>(
	work: () => Promise<T>,
): Promise<{ result: T; wrote: boolean; committed: OutgoingMessage[] }> {
	const unit: Unit = { wrote: false, committed: [], inTransaction: [] };
	const result = await current.run(unit, work);
	const committed = [...unit.committed];
	for (const t of unit.inTransaction) if (await t.committed) committed.push(...t.messages);
	return { result, wrote: unit.wrote, committed };
}
