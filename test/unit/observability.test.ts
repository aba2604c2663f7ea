import { strict as assert } from "assert";
import { MetricTypes, ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config";
import { loadConfig } from "../../lib/config";
import { jsonLogFormatter } from "../../lib/observability/logging";
import { renderPrometheus, withLabels } from "../../lib/observability/metrics";
import { histogram, snapshot, valueMetric } from "../../lib/observability/node-metrics";
import { spanFields } from "../../lib/observability/tracing";

describe("Observability building blocks", () => {
	it("When LOG_FORMAT=json, then a log call is one JSON line with its fields as top-level keys", () => {
		const lines: string[] = [];
		const saved = {
			info: console.info,
			log: console.log,
			warn: console.warn,
			error: console.error,
		};
		const capture = (...args: unknown[]) => lines.push(args.join(" "));
		Object.assign(console, { info: capture, log: capture, warn: capture, error: capture });
		try {
			const config = { ...loadConfig(), logFormat: "json", logLevel: "info" };
			const broker = new ServiceBroker({
				...brokerOptions(config, "unit"),
				transporter: undefined,
				cacher: undefined,
				metrics: false,
			});
			lines.length = 0;
			broker.getLogger("consumer").warn("Message failed, it will be redelivered", {
				queue: "orders.to_pay",
				messageId: "m-1",
				orderId: "o-1",
				err: "boom",
			});
		} finally {
			Object.assign(console, saved);
		}
		assert.equal(lines.length, 1);
		assert.ok(!lines[0].includes("\n"), "one line");
		const entry = JSON.parse(lines[0]);
		assert.equal(entry.level, "warn");
		assert.equal(entry.msg, "Message failed, it will be redelivered");
		assert.equal(entry.mod, "consumer");
		assert.match(entry.nodeID, /^unit-/);
		assert.equal(entry.messageId, "m-1");
		assert.equal(entry.orderId, "o-1");
		assert.ok(!Number.isNaN(Date.parse(entry.time)));
	});

	it("When an Error or a reserved key is logged, then the line keeps both readable and valid", () => {
		const [line] = jsonLogFormatter(
			"error",
			["Failed", { level: "x", orderId: "o" }, new Error("bad thing")],
			{ nodeID: "n", mod: "m" },
		);
		const entry = JSON.parse(line);
		assert.equal(entry.level, "error");
		assert.equal(entry.field_level, "x");
		assert.equal(entry.err.message, "bad thing");
		assert.match(entry.err.stack, /bad thing/);
	});

	it("When Moleculer metrics from several nodes are rendered, then each name has one HELP/TYPE block, buckets in order and labels escaped", () => {
		// METRICS=false: Moleculer's registry is off, and our series are there all the same.
		const broker = new ServiceBroker({ logger: false, metrics: false });
		const h = histogram(broker, { name: "gozon_x_seconds", description: "x", buckets: [0.1, 1] });
		h.observe(0.05);
		h.observe(0.5);
		h.observe(5);
		const c = (nodeID: string, value: number) =>
			withLabels([valueMetric(broker, "counter", "gozon_c_total", "c", [[{}, value]])], { nodeID });
		const text = renderPrometheus([
			...c("a", 1),
			valueMetric(broker, "gauge", "gozon_g", "g", [[{ queue: 'q"1\\' }, 2]]),
			...c("b", 3),
			...withLabels([snapshot(h)], { nodeID: "a" }),
		]);
		assert.equal(text.match(/# TYPE gozon_c_total counter/g)?.length, 1);
		assert.match(text, /gozon_c_total\{nodeID="a"\} 1\ngozon_c_total\{nodeID="b"\} 3/);
		assert.match(text, /gozon_g\{queue="q\\"1\\\\"\} 2/);
		assert.match(text, /gozon_x_seconds_bucket\{nodeID="a",le="0.1"\} 1/);
		assert.match(text, /gozon_x_seconds_bucket\{nodeID="a",le="1"\} 2/);
		assert.match(text, /gozon_x_seconds_bucket\{nodeID="a",le="\+Inf"\} 3/);
		assert.match(text, /gozon_x_seconds_count\{nodeID="a"\} 3/);
		assert.match(text, /gozon_x_seconds_sum\{nodeID="a"\} 5.55/);
		assert.match(
			text,
			/le="0.1"\} 1\n.*le="1"\} 2\n.*le="\+Inf"\} 3\n/,
			"buckets in ascending order",
		);
		// Listed before its first observation too, as a scraper saw it before: zeros.
		const idle = renderPrometheus([
			snapshot(histogram(broker, { name: "gozon_y_seconds", description: "y", buckets: [1] })),
		]);
		assert.match(
			idle,
			/gozon_y_seconds_bucket\{le="1"\} 0\ngozon_y_seconds_bucket\{le="\+Inf"\} 0\ngozon_y_seconds_sum 0\ngozon_y_seconds_count 0\n/,
		);
	});

	it("When Moleculer lists a quantile-only histogram and an info metric, then they are a summary and a gauge of 1", () => {
		const broker = new ServiceBroker({ logger: false, metrics: false });
		const quantiles = {
			type: "histogram",
			name: "x.time",
			description: "t",
			quantiles: [0.5, 0.99],
		};
		const q = new MetricTypes.Histogram(quantiles, broker.metrics);
		q.observe(3);
		const info = new MetricTypes.Info(
			{ type: "info", name: "x.version", description: "v" },
			broker.metrics,
		);
		info.set("1.2.3");
		const text = renderPrometheus([snapshot(q), snapshot(info)]);
		assert.match(
			text,
			/# TYPE x_time summary\nx_time\{quantile="0.5"\} 3\nx_time\{quantile="0.99"\} 3\nx_time_sum 3\nx_time_count 1\n/,
		);
		assert.match(text, /# TYPE x_version gauge\nx_version\{value="1.2.3"\} 1\n/);
	});

	it("When a span of orders.create ends, then its log fields carry the request id and the order id", () => {
		const fields = spanFields({
			id: "s1",
			traceID: "req-1",
			parentID: "p1",
			name: "action 'orders.create'",
			duration: 3.14159,
			service: { name: "orders" },
			tags: { requestID: "req-1", meta: { userId: 42 }, response: { id: "o-1", status: "NEW" } },
		});
		assert.deepEqual(fields, {
			traceId: "req-1",
			spanId: "s1",
			parentId: "p1",
			span: "action 'orders.create'",
			durationMs: 3.14,
			requestId: "req-1",
			service: "orders",
			userId: 42,
			orderId: "o-1",
			status: "NEW",
		});
	});
});
