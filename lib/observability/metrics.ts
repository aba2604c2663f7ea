/**
 * Metrics as plain data, so a node can hand its figures to the gateway in an action reply
 * and the gateway can render the whole cluster in the Prometheus text format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Counters on the hot path are plain numbers the services already keep; everything here runs
 * on a scrape only.
 */

export type Labels = Record<string, string | number>;

export interface ValueSample {
	labels: Labels;
	value: number | null;
}

export interface HistogramSample {
	labels: Labels;
	/** Cumulative counts by upper bound (`le`), without +Inf. */
	buckets: Record<string, number>;
	count: number;
	sum: number;
}

export interface SummarySample {
	labels: Labels;
	/** Value by quantile ("0.5", "0.99"). */
	quantiles: Record<string, number | null>;
	count: number;
	sum: number;
}

export type MetricFamily =
	| { name: string; help: string; type: "counter" | "gauge"; samples: ValueSample[] }
	| { name: string; help: string; type: "histogram"; samples: HistogramSample[] }
	| { name: string; help: string; type: "summary"; samples: SummarySample[] };

export const counter = (name: string, help: string, samples: ValueSample[]): MetricFamily => ({
	name,
	help,
	type: "counter",
	samples,
});

export const gauge = (name: string, help: string, samples: ValueSample[]): MetricFamily => ({
	name,
	help,
	type: "gauge",
	samples,
});

/**
 * A fixed-bucket histogram: an observation is a loop over a dozen bounds and two additions,
 * cheap enough for every batch a consumer commits.
 */
export class Histogram {
	private readonly counts: number[];
	private count = 0;
	private sum = 0;

	constructor(
		readonly name: string,
		readonly help: string,
		private readonly bounds: number[],
	) {
		this.counts = bounds.map(() => 0);
	}

	observe(value: number): void {
		this.count++;
		this.sum += value;
		for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]) this.counts[i]++;
	}

	/** Starts a timer; calling the returned function observes the seconds elapsed. */
	startTimer(): () => void {
		const start = process.hrtime.bigint();
		return () => this.observe(Number(process.hrtime.bigint() - start) / 1e9);
	}

	family(labels: Labels = {}): MetricFamily {
		const buckets: Record<string, number> = {};
		this.bounds.forEach((b, i) => (buckets[String(b)] = this.counts[i]));
		return {
			name: this.name,
			help: this.help,
			type: "histogram",
			samples: [{ labels, buckets, count: this.count, sum: this.sum }],
		};
	}
}

/** One entry of Moleculer's `broker.metrics.list()` (also what `$node.metrics` answers). */
export interface MoleculerMetric {
	type: "counter" | "gauge" | "histogram" | "info";
	name: string;
	description?: string;
	unit?: string;
	values: {
		labels?: Labels;
		value?: unknown;
		buckets?: Record<string, number>;
		count?: number;
		sum?: number;
		[quantile: string]: unknown;
	}[];
}

/** Moleculer metric names as Prometheus names: "moleculer.request.total" → "moleculer_request_total". */
export const promName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^([0-9])/, "_$1");

const QUANTILE_KEY = /^0(\.\d+)?$|^1$/;

/**
 * Moleculer's registry in our shape. Counters and gauges keep their values; histograms with
 * buckets stay histograms; quantile-only histograms become summaries; info metrics become a
 * gauge of 1 with the value as a label (as Moleculer's own Prometheus reporter does).
 * Rates (a Moleculer extra) are left out: Prometheus computes them from the counters.
 */
export function fromMoleculer(list: MoleculerMetric[]): MetricFamily[] {
	const out: MetricFamily[] = [];
	for (const m of list) {
		const name = promName(m.name);
		const help = m.description ?? m.name + (m.unit ? ` (${m.unit})` : "");
		if (!m.values?.length) continue;
		if (m.type === "counter" || m.type === "gauge") {
			const samples = m.values.map(v => ({ labels: v.labels ?? {}, value: numberOrNull(v.value) }));
			out.push({ name, help, type: m.type, samples });
		} else if (m.type === "info") {
			const samples = m.values.map(v => ({
				labels: { ...(v.labels ?? {}), value: String(v.value) },
				value: 1,
			}));
			out.push({ name, help, type: "gauge", samples });
		} else if (m.type === "histogram") {
			if (m.values.every(v => v.buckets)) {
				const samples = m.values.map(v => ({
					labels: v.labels ?? {},
					buckets: v.buckets!,
					count: v.count ?? 0,
					sum: v.sum ?? 0,
				}));
				out.push({ name, help, type: "histogram", samples });
			} else {
				const samples = m.values.map(v => ({
					labels: v.labels ?? {},
					quantiles: Object.fromEntries(
						Object.entries(v)
							.filter(([k]) => QUANTILE_KEY.test(k))
							.map(([k, q]) => [k, numberOrNull(q)]),
					),
					count: v.count ?? 0,
					sum: v.sum ?? 0,
				}));
				out.push({ name, help, type: "summary", samples });
			}
		}
	}
	return out;
}

function numberOrNull(v: unknown): number | null {
	return typeof v === "number" && !Number.isNaN(v) ? v : null;
}

/** Adds labels (e.g. the node id) to every sample of the families. */
export function withLabels(families: MetricFamily[], labels: Labels): MetricFamily[] {
	return families.map(
		f =>
			({
				...f,
				samples: (f.samples as { labels: Labels }[]).map(s => ({
					...s,
					labels: { ...labels, ...s.labels },
				})),
			}) as MetricFamily,
	);
}

const labelKey = (labels: Labels) =>
	Object.keys(labels)
		.sort()
		.map(k => `${k}=${labels[k]}`)
		.join(",");

/**
 * Joins families of the same name (one HELP/TYPE block each, as the format requires) and drops
 * a sample whose name and labels were already given (the first one wins).
 */
export function mergeFamilies(families: MetricFamily[]): MetricFamily[] {
	const byName = new Map<string, { family: MetricFamily; seen: Set<string> }>();
	for (const f of families) {
		let entry = byName.get(f.name);
		if (!entry) {
			entry = { family: { ...f, samples: [] } as MetricFamily, seen: new Set() };
			byName.set(f.name, entry);
		}
		if (entry.family.type !== f.type) continue;
		for (const s of f.samples as { labels: Labels }[]) {
			const key = labelKey(s.labels);
			if (entry.seen.has(key)) continue;
			entry.seen.add(key);
			(entry.family.samples as { labels: Labels }[]).push(s);
		}
	}
	return [...byName.values()].map(e => e.family);
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labelName = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^([0-9])/, "_$1");

function labelStr(labels: Labels, extra?: Labels): string {
	const all = extra ? { ...labels, ...extra } : labels;
	const keys = Object.keys(all).filter(k => all[k] !== undefined && all[k] !== null);
	if (!keys.length) return "";
	return `{${keys.map(k => `${labelName(k)}="${escapeLabel(String(all[k]))}"`).join(",")}}`;
}

function num(v: number | null | undefined): string {
	if (v === null || v === undefined || Number.isNaN(v)) return "NaN";
	if (v === Infinity) return "+Inf";
	if (v === -Infinity) return "-Inf";
	return String(v);
}

/** The Prometheus text exposition format (version 0.0.4) of the families. */
export function renderPrometheus(families: MetricFamily[]): string {
	const lines: string[] = [];
	for (const f of mergeFamilies(families)) {
		if (!f.samples.length) continue;
		lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
		if (f.type === "counter" || f.type === "gauge") {
			for (const s of f.samples) lines.push(`${f.name}${labelStr(s.labels)} ${num(s.value)}`);
		} else if (f.type === "histogram") {
			for (const s of f.samples) {
				const bounds = Object.keys(s.buckets).sort((a, b) => Number(a) - Number(b));
				for (const le of bounds) lines.push(`${f.name}_bucket${labelStr(s.labels, { le })} ${num(s.buckets[le])}`);
				lines.push(`${f.name}_bucket${labelStr(s.labels, { le: "+Inf" })} ${num(s.count)}`);
				lines.push(`${f.name}_sum${labelStr(s.labels)} ${num(s.sum)}`);
				lines.push(`${f.name}_count${labelStr(s.labels)} ${num(s.count)}`);
			}
		} else if (f.type === "summary") {
			for (const s of f.samples) {
				for (const [q, v] of Object.entries(s.quantiles))
					lines.push(`${f.name}${labelStr(s.labels, { quantile: q })} ${num(v)}`);
				lines.push(`${f.name}_sum${labelStr(s.labels)} ${num(s.sum)}`);
				lines.push(`${f.name}_count${labelStr(s.labels)} ${num(s.count)}`);
			}
		}
	}
	return lines.join("\n") + "\n";
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
