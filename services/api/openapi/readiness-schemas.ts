/**
 * The schemas of GET /health/live and /health/ready, tied by `objectSchema<T>()` to the
 * types the gateway answers with (readiness.ts, readiness-summary.ts) and a node reports
 * (lib/observability/health.ts).
 */
import type { CheckResult, CheckStatus, NodeHealth } from "../../../lib/observability/health";
import type { ReadinessReport, ServiceReadiness } from "../readiness";
import type { ReadinessSummary } from "../readiness-summary";
import { examples } from "./examples";
import { allOf, objectSchema, type Schema } from "./json-schema";

const checkStatuses = allOf<CheckStatus>()(["up", "down", "degraded"]);

export function readinessSchemas(): Record<string, Schema> {
	return {
		Liveness: {
			type: "object",
			required: ["status"],
			properties: { status: { type: "string", enum: ["ok"] } },
			example: examples.Liveness,
		},
		CheckResult: objectSchema<CheckResult>()({
			type: "object",
			required: ["status"],
			properties: {
				status: {
					type: "string",
					enum: checkStatuses,
					description: "degraded: Redis (optional) is down.",
				},
				error: { type: "string", description: "Why it is down." },
				latencyMs: { type: "integer", minimum: 0 },
				state: { type: "string", description: "A consumer's own state, e.g. consuming." },
			},
		}),
		NodeHealth: objectSchema<NodeHealth>()({
			type: "object",
			description: "One node's own checks (what `<service>.health` answers).",
			required: ["nodeID", "service", "status", "checks"],
			properties: {
				nodeID: { type: "string" },
				service: { type: "string" },
				status: { type: "string", enum: checkStatuses },
				checks: {
					type: "object",
					description:
						"postgres, rabbitmq, redis and consumer:<queue> (one per business-queue consumer) for a service node; redis, transporter for the gateway; rpc when the node did not answer.",
					additionalProperties: { $ref: "#/components/schemas/CheckResult" },
				},
			},
		}),
		ServiceSummary: objectSchema<ReadinessSummary["checks"][string]>()({
			type: "object",
			description:
				"A service (or the gateway) by default: its status, and per check the worst status over its nodes.",
			required: ["status", "checks"],
			properties: {
				status: { type: "string", enum: checkStatuses },
				checks: {
					type: "object",
					additionalProperties: {
						type: "object",
						required: ["status"],
						properties: { status: { type: "string", enum: checkStatuses } },
						additionalProperties: false,
					},
				},
			},
			additionalProperties: false,
		}),
		ServiceReadiness: objectSchema<ServiceReadiness>()({
			type: "object",
			description: "Every node of a service; up only if it has a node and all are up.",
			required: ["status", "nodes"],
			properties: {
				status: { type: "string", enum: checkStatuses },
				error: { type: "string" },
				nodes: { type: "array", items: { $ref: "#/components/schemas/NodeHealth" } },
			},
		}),
		Readiness: objectSchema<ReadinessReport>()({
			type: "object",
			required: ["status", "checks", "failing", "degraded"],
			properties: {
				status: {
					type: "string",
					enum: allOf<ReadinessReport["status"]>()(["ready", "degraded", "not_ready"]),
					description:
						"degraded (still 200): Redis is down somewhere; every call is served from PostgreSQL, without pushes.",
				},
				checks: {
					type: "object",
					description:
						"`gateway` (this gateway's own links), then one entry per service the gateway routes to: a ServiceSummary by default, NodeHealth and ServiceReadiness (every node) with HEALTH_DETAILS=true.",
					additionalProperties: {
						oneOf: [
							{ $ref: "#/components/schemas/ServiceSummary" },
							{ $ref: "#/components/schemas/NodeHealth" },
							{ $ref: "#/components/schemas/ServiceReadiness" },
						],
					},
				},
				failing: {
					type: "array",
					items: { type: "string" },
					description:
						"What is down: `<service>` (no node), `<service>/<check>` (`<service>/<nodeID>/<check>` with HEALTH_DETAILS=true) or `gateway/<check>`.",
				},
				degraded: {
					type: "array",
					items: { type: "string" },
					description:
						"What is degraded (Redis down): `<service>/<nodeID>/redis` or `gateway/redis`.",
				},
			},
		}),
	};
}
