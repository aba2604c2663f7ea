/** The document's part on the operational routes: /health/*, /metrics, /openapi.json and /docs (ops.mixin.ts). */
import { toPublicError, UnauthorizedError, type PublicError } from "../../../lib/errors";
import { DOCS_ASSET_NAMES } from "../docs";
import type { ErrorType } from "./error-examples";
import { examples } from "./examples";
import { json, ref } from "./json-schema";

/** The operational routes the gateway serves besides /api (see ops.mixin.ts). */
export function opsPaths(errors: Record<ErrorType, PublicError>): Record<string, unknown> {
	const open = { security: [] as unknown[] };
	const ops = ["Operations"];
	return {
		"/health/live": {
			get: {
				...open,
				tags: ops,
				operationId: "health_live",
				summary: "Liveness",
				description: "200 while the gateway process runs and serves HTTP; checks nothing else.",
				responses: { "200": { description: "Alive.", content: json(ref("Liveness")) } },
			},
		},
		"/health/ready": {
			get: {
				...open,
				tags: ops,
				operationId: "health_ready",
				summary: "Readiness",
				description:
					"200 when this gateway's Moleculer transporter works and every orders and payments node reports its PostgreSQL and RabbitMQ reachable (each node checks its own; RabbitMQ is down while it blocks publishes) and each of its consumers subscribed and not stalled (no progress for CONSUMER_STALL_MS while its queue holds messages); 503 otherwise, with `failing` naming what is down. Redis is optional: when it is down anywhere the answer is still 200 with status `degraded` and `degraded` naming where. Only up/down per service and check by default; with HEALTH_DETAILS=true every node and each failure's error (which can name hosts and ports).",
				responses: {
					"200": {
						description: "Ready, or degraded (Redis down: served from PostgreSQL).",
						content: json(ref("Readiness"), { example: examples.ReadinessReady }),
					},
					"503": {
						description: "Not ready: see `failing`.",
						content: json(ref("Readiness"), {
							examples: {
								default: { summary: "By default", value: examples.ReadinessNotReady },
								details: { summary: "HEALTH_DETAILS=true", value: examples.ReadinessDetails },
							},
						}),
					},
				},
			},
		},
		"/metrics": {
			get: {
				...open,
				tags: ops,
				operationId: "metrics",
				summary: "Prometheus metrics of the whole cluster",
				description: [
					"Prometheus text format (0.0.4), gathered from every node over Moleculer at scrape time.",
					"",
					"With METRICS_TOKEN set, it needs `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).",
					"",
					"- Moleculer's own (`moleculer_*`, `process_*`, `os_*`), labelled with `nodeID`, without the series that identify the host (host name, OS user, network interfaces, command line);",
					"- `gozon_orders_by_status{status}`; `gozon_outbox_pending_messages{service}`, `gozon_outbox_oldest_pending_age_seconds{service}`;",
					"- `gozon_queue_messages{queue}` for orders.to_pay, payment.results, orders.to_refund and their .dlq;",
					"- counters per node: `gozon_outbox_published_total`, `gozon_outbox_relay_rounds_total`, `gozon_outbox_relay_empty_rounds_total`, `gozon_inbox_duplicates_skipped_total`, `gozon_consumer_handled_total`, `gozon_consumer_batches_total`, `gozon_consumer_retried_total`, `gozon_dead_lettered_total`;",
					"- `gozon_payments_batch_duration_seconds` (histogram): the payments transaction of one batch of orders;",
					"- `gozon_scrape_node_up{nodeID}`: whether the node answered this scrape.",
				].join("\n"),
				responses: {
					"200": {
						description: "The metrics.",
						content: {
							"text/plain": {
								schema: { type: "string" },
								example:
									'# HELP gozon_orders_by_status Orders stored, by status\n# TYPE gozon_orders_by_status gauge\ngozon_orders_by_status{status="NEW"} 3\ngozon_orders_by_status{status="FINISHED"} 1250\n',
							},
						},
					},
					"401": {
						description: "METRICS_TOKEN is set and the request does not carry it.",
						content: json(ref("Error"), {
							examples: {
								UNAUTHORIZED: {
									summary: "UNAUTHORIZED",
									value: toPublicError(
										new UnauthorizedError(
											"GET /metrics needs the header Authorization: Bearer <METRICS_TOKEN>",
										),
									),
								},
							},
						}),
					},
				},
			},
		},
		"/openapi.json": {
			get: {
				...open,
				tags: ops,
				operationId: "openapi",
				summary: "This document",
				responses: {
					"200": { description: "OpenAPI 3 document.", content: json({ type: "object" }) },
				},
			},
		},
		"/docs": {
			get: {
				...open,
				tags: ops,
				operationId: "docs",
				summary: "Swagger UI",
				description:
					"Interactive documentation of this document; every call can be tried against this gateway.",
				responses: {
					"200": {
						description: "HTML page.",
						content: { "text/html": { schema: { type: "string" } } },
					},
				},
			},
		},
		"/docs/{file}": {
			get: {
				...open,
				tags: ops,
				operationId: "docs_asset",
				summary: "Swagger UI's static files",
				parameters: [
					{
						name: "file",
						in: "path",
						required: true,
						schema: { type: "string", enum: DOCS_ASSET_NAMES },
					},
				],
				responses: {
					"200": {
						description: "The file.",
						content: { "*/*": { schema: { type: "string", format: "binary" } } },
					},
					"404": {
						description: "Not one of Swagger UI's files.",
						content: json(ref("Error"), {
							examples: { NOT_FOUND: { summary: "NOT_FOUND", value: errors.NOT_FOUND } },
						}),
					},
				},
			},
		},
	};
}
