import type { Probe } from "../observability/health";
import type { MessagingRuntime } from "./runtime";

/** What a probe reports beside up/down: shown in GET /health/ready for each consumer. */
export interface ProbeState {
	state: string;
}

/**
 * Readiness of a node's messaging: the broker connection (down while disconnected or blocked
 * by a resource alarm) and one check per consumer, down while it is not subscribed, or when it
 * has made no progress for `stallMs` while its queue holds messages (a stuck handler, a
 * subscription the broker dropped silently).
 */
export function messagingProbes(
	messaging: MessagingRuntime,
	stallMs: number,
): Record<string, Probe> {
	const probes: Record<string, Probe> = {
		rabbitmq: () => {
			const { connection, relay } = messaging;
			if (!connection.isConnected) return false;
			if (connection.blocked !== null)
				throw new Error(
					`the broker blocks publishes (${connection.blocked}); the outbox relay is ${relay.paused ? "paused" : "running"}`,
				);
			return true;
		},
	};
	for (const consumer of messaging.consumers) {
		probes[`consumer:${consumer.spec.queue}`] = async (): Promise<ProbeState> => {
			const s = consumer.status();
			if (s.state !== "consuming") throw new Error(`consumer is ${s.state}`);
			const idleMs = Date.now() - s.lastProgressAt;
			if (idleMs <= stallMs) return { state: s.state };
			const waiting = s.holding + (await messaging.connection.readyCount(s.queue));
			if (waiting > 0)
				throw new Error(
					`stalled: no message received or finished for ${Math.round(idleMs / 1000)} s while ${waiting} wait`,
				);
			return { state: s.state };
		};
	}
	return probes;
}
