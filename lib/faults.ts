/**
 * Fault injection for the crash tests and the chaos suite: GOZON_FAULTS=a,b makes the process
 * kill itself with SIGKILL when it reaches fault point a or b. Unset in normal runs, where a
 * fault point costs one Set lookup.
 */
const armed = new Set(
	(process.env.GOZON_FAULTS ?? "")
		.split(",")
		.map(s => s.trim())
		.filter(Boolean),
);

export type FaultPoint =
	| "payments.after-commit-before-ack"
	| "payments.refund.after-commit-before-ack"
	| "orders.after-commit-before-ack"
	| "relay.after-publish-before-mark-sent";

export function faultPoint(name: FaultPoint): void {
	if (armed.size && armed.has(name)) process.kill(process.pid, "SIGKILL");
}
