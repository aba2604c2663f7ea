import { AsyncLocalStorage } from "async_hooks";

/** The unit of work under way (MessagingRuntime.write): whether it has written outbox rows. */
const current = new AsyncLocalStorage<{ wrote: boolean }>();

/**
 * Called by OutboxStore for each outbox insert it makes: the unit of work under way, if any,
 * writes outbox rows. The insert is made inside the work's transaction (or its single
 * statement), so once the work has resolved those rows are committed.
 */
export function noteOutboxWrite(): void {
	const unit = current.getStore();
	if (unit) unit.wrote = true;
}

/** Runs `work` as a unit of its own and says whether it made an outbox insert. */
export async function trackOutboxWrites<T>(
	work: () => Promise<T>,
): Promise<{ result: T; wrote: boolean }> {
	const unit = { wrote: false };
	const result = await current.run(unit, work);
	return { result, wrote: unit.wrote };
}
