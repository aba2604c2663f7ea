/** How the supervisor restarts a node that died. */
export const RESTART = {
	/** Delay per consecutive quick restart: 1 s, 2 s, … */
	stepMs: 1000,
	/** Longest delay before a restart. */
	maxMs: 10_000,
	/** A node that ran this long was healthy: its next restart starts the backoff over. */
	healthyMs: 60_000,
};

/**
 * The consecutive-restart count and delay after a node exits, given the count so far and how
 * long it ran. A node crashing in a loop backs off up to `maxMs`; one that crashes once after
 * a healthy minute is restarted after `stepMs`, not after its old, long delay.
 */
export function nextRestart(
	restarts: number,
	uptimeMs: number,
	policy = RESTART,
): { restarts: number; delayMs: number } {
	const count = uptimeMs >= policy.healthyMs ? 1 : restarts + 1;
	return { restarts: count, delayMs: Math.min(policy.stepMs * count, policy.maxMs) };
}
