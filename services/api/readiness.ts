/**
 * GET /health/ready: the gateway is ready when its own Redis and transporter work and every
 * node of every service it routes to reports itself healthy (`<service>.health`: its
 * PostgreSQL, RabbitMQ and Redis). A service with no node at all is not ready either.
 *
 * Redis down anywhere is "degraded", still 200: every call is served from PostgreSQL then
 * (lib/redis/epoch-cacher.ts), only slower and without pushes.
 *
 * Strict on purpose: Moleculer balances calls over all nodes of a service, so one sick node
 * fails a share of the requests; the answer names it so an operator knows where to look.
 */
import type { ServiceBroker } from "moleculer";
import {
	allUp,
	CheckStatus,
	NodeHealth,
	redisProbe,
	runChecks,
	transporterProbe,
} from "../../lib/observability/health";

export interface ServiceReadiness {
	status: CheckStatus;
	/** Why the service as a whole is down (no node), when it is. */
	error?: string;
	nodes: NodeHealth[];
}

export interface ReadinessReport {
	status: "ready" | "degraded" | "not_ready";
	checks: Record<string, NodeHealth | ServiceReadiness>;
	/** What is down, e.g. "payments" (no node), "orders/orders-2/postgres", "gateway/redis". */
	failing: string[];
	/** What is degraded (an optional dependency down), e.g. "orders/orders-1/redis". */
	degraded: string[];
}

interface ServiceInstance {
	name: string;
	nodeID: string;
}

/** The available nodes of each named service, by the local registry. */
export function serviceNodes(
	broker: ServiceBroker,
	services: readonly string[],
): Record<string, string[]> {
	const list = broker.registry.getServiceList({
		onlyAvailable: true,
		skipInternal: true,
	}) as unknown as ServiceInstance[];
	const out: Record<string, string[]> = {};
	for (const s of services)
		out[s] = [...new Set(list.filter(i => i.name === s).map(i => i.nodeID))].sort();
	return out;
}

async function askNode(
	broker: ServiceBroker,
	service: string,
	nodeID: string,
	timeoutMs: number,
): Promise<NodeHealth> {
	try {
		// The node's own checks run with timeoutMs each; give the call a little more.
		return await broker.call<NodeHealth, object>(
			`${service}.health`,
			{},
			{ nodeID, timeout: timeoutMs + 1000, retries: 0 },
		);
	} catch (err) {
		return {
			nodeID,
			service,
			status: "down",
			checks: { rpc: { status: "down", error: (err as Error).message } },
		};
	}
}

/** Asks every node of the services the gateway depends on, and checks the gateway's own links. */
export async function checkReadiness(
	broker: ServiceBroker,
	services: readonly string[],
	timeoutMs: number,
): Promise<ReadinessReport> {
	const nodes = serviceNodes(broker, services);
	const [gatewayChecks, ...perService] = await Promise.all([
		runChecks({ redis: redisProbe(broker), transporter: transporterProbe(broker) }, timeoutMs),
		...services.map(s => Promise.all(nodes[s].map(n => askNode(broker, s, n, timeoutMs)))),
	]);
	const checks: ReadinessReport["checks"] = {
		gateway: {
			nodeID: broker.nodeID,
			service: "api",
			status: allUp(gatewayChecks),
			checks: gatewayChecks,
		},
	};
	services.forEach((s, i) => {
		const reports = perService[i];
		checks[s] = reports.length
			? { status: allUp(Object.fromEntries(reports.map(r => [r.nodeID, r]))), nodes: reports }
			: { status: "down", error: `no ${s} node is available`, nodes: [] };
	});
	const failing = failingChecks(checks);
	const degraded = failingChecks(checks, "degraded");
	return {
		status: failing.length ? "not_ready" : degraded.length ? "degraded" : "ready",
		checks,
		failing,
		degraded,
	};
}

/** The names of what is down (or degraded), most specific first: a node's check, or a whole service. */
export function failingChecks(
	checks: ReadinessReport["checks"],
	status: "down" | "degraded" = "down",
): string[] {
	const out: string[] = [];
	for (const [name, c] of Object.entries(checks)) {
		if (c.status === "up") continue;
		if ("nodes" in c) {
			if (!c.nodes.length && status === "down") out.push(name);
			for (const n of c.nodes)
				for (const [check, r] of Object.entries(n.checks))
					if (r.status === status) out.push(`${name}/${n.nodeID}/${check}`);
		} else {
			for (const [check, r] of Object.entries(c.checks))
				if (r.status === status) out.push(`${name}/${check}`);
		}
	}
	return out;
}
