/**
 * Wraps a reload so that overlapping calls never run side by side: while one run is in flight,
 * further calls share a single follow-up run. A reload asked for during a fetch (say, the socket
 * reconnected) therefore still happens after it, so no change slips between the two.
 * The task must handle its own errors.
 */
export function coalesce(task: () => Promise<void>): () => Promise<void> {
	let current: Promise<void> | null = null;
	let next: Promise<void> | null = null;

	function start(): Promise<void> {
		current = task().finally(() => {
			current = null;
		});
		return current;
	}

	return () => {
		if (!current) return start();
		next ??= current.then(() => {
			next = null;
			return start();
		});
		return next;
	};
}
