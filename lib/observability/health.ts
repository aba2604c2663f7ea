/**
 * Readiness checks of one node, shared by every service that answers `<service>.health`,
 * and by the gateway for its own dependencies. A check is a probe that resolves when the
 * dependency answers; it is run with a deadline, so an unreachable dependency is reported as
 * down in bounded time instead of hanging the whole readiness answer.
 */
import type { Knex } from "knex";
import type { ServiceBroker } from "moleculer";

/**
 * "degraded": an optional dependency (Redis, an accelerator) is down; the node still serves
 * every call, so readiness stays 200.
 */
export type CheckStatus = "up" | "down" | "degraded";

export interface CheckResult {
	status: CheckStatus;
	/** Why it is down. */
	error?: string;
	latencyMs?: number;
	/** What the dependency reports of itself, e.g. a consumer's "consuming". */
	state?: string;
}

export interface NodeHealth {
	nodeID: string;
	service: string;
	status: CheckStatus;
	checks: Record<string, CheckResult>;
}

/** Resolves when the dependency answers; throws (or returns false) when it does not. */
export type Probe = () => Promise<unknown> | boolean;

class CheckTimeoutError extends Error {}

const OPTIONAL = new WeakSet<Probe>();

/** A probe whose failure degrades the node instead of taking it down. */
export function optional(probe: Probe): Probe {
	OPTIONAL.add(probe);
	return probe;
}

async function runProbe(probe: Probe, timeoutMs: number): Promise<CheckResult> {
	const start = Date.now();
	const failed: CheckStatus = OPTIONAL.has(probe) ? "degraded" : "down";
	let timer: NodeJS.Timeout | undefined;
	try {
		const result = await Promise.race([
			Promise.resolve().then(probe),
			new Promise<never>((_, reject) => {
				timer = setTimeout(
					() => reject(new CheckTimeoutError(`no answer within ${timeoutMs} ms`)),
					timeoutMs,
				);
			}),
		]);
		if (result === false) return { status: failed, error: "not connected" };
		const state = (result as { state?: unknown } | null)?.state;
		return {
			status: "up",
			latencyMs: Date.now() - start,
			...(typeof state === "string" ? { state } : {}),
		};
	} catch (err) {
		return { status: failed, error: (err as Error)?.message || String(err) };
	} finally {
		clearTimeout(timer);
	}
}

/** Runs every probe at once, each with its own deadline. */
export async function runChecks(
	probes: Record<string, Probe>,
	timeoutMs: number,
): Promise<Record<string, CheckResult>> {
	const names = Object.keys(probes);
	const results = await Promise.all(names.map(n => runProbe(probes[n], timeoutMs)));
	return Object.fromEntries(names.map((n, i) => [n, results[i]]));
}

/** Down if any check is down, else degraded if any is, else up. */
export const allUp = (checks: Record<string, { status: CheckStatus }>): CheckStatus => {
	const statuses = Object.values(checks).map(c => c.status);
	return statuses.includes("down") ? "down" : statuses.includes("degraded") ? "degraded" : "up";
};

/** `select 1` on the service's own database (through its pool, as real queries go). */
export const postgresProbe =
	(db: Knex): Probe =>
	() =>
		db.raw("select 1");

interface RedisLike {
	status?: string;
	ping(): Promise<unknown>;
}

/**
 * A PING on the Moleculer cacher's Redis connection. A connection that is not "ready" is
 * reported at once. Optional: without Redis the node serves from PostgreSQL ("degraded").
 */
export const redisProbe = (broker: ServiceBroker): Probe =>
	optional(() => {
		const client = (broker.cacher as unknown as { client?: RedisLike } | null)?.client;
		if (!client) throw new Error("no Redis cacher configured");
		if (client.status !== undefined && client.status !== "ready")
			throw new Error(`connection is ${client.status}`);
		return client.ping();
	});

/** Whether the Moleculer transporter (RPC between nodes) is connected and not blocked. */
export const transporterProbe =
	(broker: ServiceBroker): Probe =>
	() => {
		const transit = (
			broker as unknown as {
				transit?: { connected?: boolean; tx?: { unavailable?: string | null } };
			}
		).transit;
		if (!transit) return true; // a single-node broker without a transporter needs none
		// RpcTransporter (lib/amqp-transporter.ts) says why it refuses requests: no channel, or blocked.
		const why = transit.tx?.unavailable;
		if (transit.connected && why) throw new Error(why);
		return transit.connected === true;
	};

/** The health report of one service node. */
export async function nodeHealth(
	broker: ServiceBroker,
	service: string,
	probes: Record<string, Probe>,
	timeoutMs: number,
): Promise<NodeHealth> {
	const checks = await runChecks(probes, timeoutMs);
	return { nodeID: broker.nodeID, service, status: allUp(checks), checks };
}
