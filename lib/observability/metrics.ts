/**
 * Every node's metrics travel in the shape of Moleculer's registry (`broker.metrics.list()`,
 * what `$node.metrics` answers); the gateway renders them all in one Prometheus scrape
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Rendering stays ours, not Moleculer's Prometheus reporter, because the reporter:
 * - renders only its own node's registry, from an HTTP server and port of its own per node;
 * - adds `_rate` series, and `namespace` and `nodeID` labels to every series;
 * - writes quantile histograms under a histogram TYPE with `_min`/`_mean`/`_stddev` lines;
 * - writes buckets in JavaScript key order (le="1", "5", "10" before le="0.001").
 */

export type Labels = Record<string, string | number>;

/**
 * One metric as Moleculer's registry lists it (`MetricRegistry.list()`, `BaseMetric.toObject()`;
 * its .d.ts calls `values` a Map, but it is the array of `snapshot()`).
 */
export interface MetricSnapshot {
	type: "counter" | "gauge" | "histogram" | "info";
	name: string;
	description?: string;
	unit?: string;
	values: {
		labels?: Labels;
		value?: unknown;
		buckets?: Record<string, number>;
		quantiles?: Record<string, number | null>;
		count?: number;
		sum?: number;
	}[];
}

/** Moleculer metric names as Prometheus names: "moleculer.request.total" → "moleculer_request_total". */
export const promName = (name: string) =>
	name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^([0-9])/, "_$1");

/** Adds labels (e.g. the node id) to every value of the metrics, before their own labels. */
export function withLabels(metrics: MetricSnapshot[], labels: Labels): MetricSnapshot[] {
	return metrics.map(m => ({
		...m,
		values: m.values.map(v => ({ ...v, labels: { ...labels, ...v.labels } })),
	}));
}

const labelKey = (labels: Labels = {}) =>
	Object.keys(labels)
		.sort()
		.map(k => `${k}=${labels[k]}`)
		.join(",");

/**
 * Joins metrics of the same Prometheus name (one HELP/TYPE block each, as the format requires)
 * and drops a value whose name and labels were already given (the first one wins).
 */
function merge(metrics: MetricSnapshot[]): MetricSnapshot[] {
	const byName = new Map<string, { metric: MetricSnapshot; seen: Set<string> }>();
	for (const m of metrics) {
		const name = promName(m.name);
		let entry = byName.get(name);
		if (!entry) {
			const description = m.description ?? m.name + (m.unit ? ` (${m.unit})` : "");
			entry = { metric: { ...m, name, description, values: [] }, seen: new Set() };
			byName.set(name, entry);
		}
		if (entry.metric.type !== m.type) continue;
		for (const v of m.values ?? []) {
			const key = labelKey(v.labels);
			if (entry.seen.has(key)) continue;
			entry.seen.add(key);
			entry.metric.values.push(v);
		}
	}
	return [...byName.values()].map(e => e.metric);
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) =>
	s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labelName = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^([0-9])/, "_$1");

function labelStr(labels: Labels = {}, extra?: Labels): string {
	const all = extra ? { ...labels, ...extra } : labels;
	const keys = Object.keys(all).filter(k => all[k] !== undefined && all[k] !== null);
	if (!keys.length) return "";
	return `{${keys.map(k => `${labelName(k)}="${escapeLabel(String(all[k]))}"`).join(",")}}`;
}

function num(v: unknown): string {
	if (typeof v !== "number" || Number.isNaN(v)) return "NaN";
	if (v === Infinity) return "+Inf";
	if (v === -Infinity) return "-Inf";
	return String(v);
}

/**
 * The Prometheus text exposition format (version 0.0.4) of the metrics. Counters and gauges keep
 * their values; histograms with buckets stay histograms; quantile-only histograms become
 * summaries; info metrics become a gauge of 1 with the value as a label (as Moleculer's reporter
 * does). Rates (a Moleculer extra) are left out: Prometheus computes them from the counters.
 */
export function renderPrometheus(metrics: MetricSnapshot[]): string {
	const lines: string[] = [];
	for (const m of merge(metrics)) {
		if (!m.values.length) continue;
		const bucketed = m.values.every(v => v.buckets);
		const type =
			m.type === "info" ? "gauge" : m.type === "histogram" && !bucketed ? "summary" : m.type;
		lines.push(`# HELP ${m.name} ${escapeHelp(m.description ?? "")}`, `# TYPE ${m.name} ${type}`);
		for (const v of m.values) {
			if (m.type === "counter" || m.type === "gauge")
				lines.push(`${m.name}${labelStr(v.labels)} ${num(v.value)}`);
			else if (m.type === "info")
				lines.push(`${m.name}${labelStr(v.labels, { value: String(v.value) })} 1`);
			else {
				if (bucketed) {
					const bounds = Object.keys(v.buckets!).sort((a, b) => Number(a) - Number(b));
					for (const le of bounds)
						lines.push(`${m.name}_bucket${labelStr(v.labels, { le })} ${num(v.buckets![le])}`);
					lines.push(`${m.name}_bucket${labelStr(v.labels, { le: "+Inf" })} ${num(v.count ?? 0)}`);
				} else {
					for (const [q, value] of Object.entries(v.quantiles ?? {}))
						lines.push(`${m.name}${labelStr(v.labels, { quantile: q })} ${num(value)}`);
				}
				lines.push(`${m.name}_sum${labelStr(v.labels)} ${num(v.sum ?? 0)}`);
				lines.push(`${m.name}_count${labelStr(v.labels)} ${num(v.count ?? 0)}`);
			}
		}
	}
	return lines.join("\n") + "\n";
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
