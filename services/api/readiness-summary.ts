/**
 * What GET /health/ready says by default (HEALTH_DETAILS=false): the status of each check of
 * each service, and nothing else. The full report names nodes (their ids carry the host
 * name) and gives each failure's error, which often holds a host:port; an operator who wants
 * that sets HEALTH_DETAILS=true, or reads the gateway's log.
 */
import type { CheckStatus } from "../../lib/observability/health";
import type { ReadinessReport } from "./readiness";

interface StatusOnly {
	status: CheckStatus;
}

export interface ReadinessSummary {
	status: ReadinessReport["status"];
	/** Per service: its status and, per check name, the worst status over its nodes. */
	checks: Record<string, StatusOnly & { checks: Record<string, StatusOnly> }>;
	/** What is down, without node ids: "orders/postgres", "payments" (no node), "gateway/redis". */
	failing: string[];
	/** What is degraded, without node ids: "orders/redis". */
	degraded: string[];
}

/** "down" beats any other status that is not "up" (e.g. "degraded"), which beats "up". */
function worst(a: CheckStatus | undefined, b: CheckStatus): CheckStatus {
	if (a === undefined || a === "up") return b;
	if (b === "down") return b;
	return a;
}

/** "orders/orders-2-host-123/postgres" → "orders/postgres"; shorter names are kept. */
const withoutNode = (name: string) => {
	const parts = name.split("/");
	return parts.length === 3 ? `${parts[0]}/${parts[2]}` : name;
};

export function summarizeReadiness(report: ReadinessReport): ReadinessSummary {
	const checks: ReadinessSummary["checks"] = {};
	for (const [name, c] of Object.entries(report.checks)) {
		const merged: Record<string, StatusOnly> = {};
		const nodes = "nodes" in c ? c.nodes : [c];
		for (const node of nodes)
			for (const [check, r] of Object.entries(node.checks))
				merged[check] = { status: worst(merged[check]?.status, r.status) };
		checks[name] = { status: c.status, checks: merged };
	}
	const out: Record<string, unknown> = { status: report.status, checks };
	// Every list of check names (failing, and any other the report grows) loses its node ids.
	for (const [key, value] of Object.entries(report))
		if (Array.isArray(value)) out[key] = [...new Set(value.map(v => withoutNode(String(v))))];
	return out as unknown as ReadinessSummary;
}
