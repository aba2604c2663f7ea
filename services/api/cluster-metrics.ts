/**
 * GET /metrics: the whole cluster in one Prometheus scrape, gathered over Moleculer at scrape
 * time (no reporter server per node, no port per node to configure).
 *
 * Every available node is asked once for its own figures: a node with a service that
 * reports metrics (`<service>.metrics`) gives Moleculer's registry plus its relay and
 * consumer counters; any other node (another gateway) answers `$node.metrics`. Those
 * figures are labelled with the node id. Database and broker figures (orders by status,
 * outbox backlog, queue depths) are the same on every node of a service, so they are asked
 * of one node per service and carry no node id.
 */
import type { ServiceBroker } from "moleculer";
import {
	Labels,
	MetricSnapshot,
	renderPrometheus,
	withLabels,
} from "../../lib/observability/metrics";
import {
	HIDDEN_METRICS,
	moleculerMetrics,
	valueMetric,
} from "../../lib/observability/node-metrics";

/** Services whose nodes answer `<service>.metrics`. */
export const REPORTING_SERVICES = ["orders", "payments"] as const;

const SCRAPE_TIMEOUT_MS = 5000;

interface ServiceInstance {
	name: string;
	nodeID: string;
}

export async function scrapeCluster(broker: ServiceBroker): Promise<string> {
	const instances = broker.registry.getServiceList({
		onlyAvailable: true,
		skipInternal: true,
	}) as unknown as ServiceInstance[];
	const registry = broker.registry as unknown as { getNodeList(o: object): { id: string }[] };
	const nodeIDs = registry
		.getNodeList({ onlyAvailable: true })
		.map(n => n.id)
		.sort();
	const opts = (nodeID?: string) => ({ nodeID, timeout: SCRAPE_TIMEOUT_MS, retries: 0 });

	const perNode = nodeIDs.map(
		async (nodeID): Promise<{ nodeID: string; up: boolean; metrics: MetricSnapshot[] }> => {
			const services = REPORTING_SERVICES.filter(s =>
				instances.some(i => i.name === s && i.nodeID === nodeID),
			);
			try {
				let metrics: MetricSnapshot[];
				if (services.length) {
					const reports = await Promise.all(
						services.map(s =>
							broker.call<MetricSnapshot[], object>(
								`${s}.metrics`,
								{ shared: false },
								opts(nodeID),
							),
						),
					);
					metrics = reports.flat();
				} else if (nodeID === broker.nodeID) {
					metrics = moleculerMetrics(broker);
				} else {
					metrics = await broker
						.call<MetricSnapshot[], object>(
							"$node.metrics",
							{ excludes: HIDDEN_METRICS },
							opts(nodeID),
						)
						// A node started with METRICS=false has no registry: it is up all the same.
						.catch(err => {
							if ((err as { type?: string }).type === "METRICS_DISABLED") return [];
							throw err;
						});
				}
				return { nodeID, up: true, metrics: withLabels(metrics, { nodeID }) };
			} catch (err) {
				broker.logger.warn("Metrics of a node not scraped", {
					nodeID,
					err: (err as Error).message,
				});
				return { nodeID, up: false, metrics: [] };
			}
		},
	);

	const shared = REPORTING_SERVICES.filter(s => instances.some(i => i.name === s)).map(s =>
		broker.call<MetricSnapshot[], object>(`${s}.metrics`, { shared: true }, opts()).catch(err => {
			broker.logger.warn("Shared metrics not scraped", { service: s, err: (err as Error).message });
			return [] as MetricSnapshot[];
		}),
	);

	const nodes = await Promise.all(perNode);
	const up = valueMetric(
		broker,
		"gauge",
		"gozon_scrape_node_up",
		"1 when this scrape got the node's metrics, 0 when the node did not answer.",
		nodes.map((n): [Labels, number] => [{ nodeID: n.nodeID }, n.up ? 1 : 0]),
	);
	return renderPrometheus([
		up,
		...(await Promise.all(shared)).flat(),
		...nodes.flatMap(n => n.metrics),
	]);
}
