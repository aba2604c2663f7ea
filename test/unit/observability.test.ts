import { strict as assert } from "assert";
import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config";
import { loadConfig } from "../../lib/config";
import { jsonLogFormatter } from "../../lib/observability/logging";
import { counter, gauge, Histogram, renderPrometheus } from "../../lib/observability/metrics";
import { spanFields } from "../../lib/observability/tracing";

describe("Observability building blocks", () => {
	it("When LOG_FORMAT=json, then a log call is one JSON line with its fields as top-level keys", () => {
		const lines: string[] = [];
		const saved = { info: console.info, log: console.log, warn: console.warn, error: console.error };
		const capture = (...args: unknown[]) => lines.push(args.join(" "));
		Object.assign(console, { info: capture, log: capture, warn: capture, error: capture });
		try {
			const config = { ...loadConfig(), logFormat: "json", logLevel: "info" };
			const broker = new ServiceBroker({ ...brokerOptions(config, "unit"), transporter: undefined, cacher: undefined, metrics: false });
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
		const [line] = jsonLogFormatter("error", ["Failed", { level: "x", orderId: "o" }, new Error("bad thing")], { nodeID: "n", mod: "m" });
		const entry = JSON.parse(line);
		assert.equal(entry.level, "error");
		assert.equal(entry.field_level, "x");
		assert.equal(entry.err.message, "bad thing");
		assert.match(entry.err.stack, /bad thing/);
	});

	it("When families from several nodes are rendered, then each name has one HELP/TYPE block and labels are escaped", () => {
		const h = new Histogram("gozon_x_seconds", "x", [0.1, 1]);
		h.observe(0.05);
		h.observe(0.5);
		h.observe(5);
		const text = renderPrometheus([
			counter("gozon_c_total", "c", [{ labels: { nodeID: "a" }, value: 1 }]),
			gauge("gozon_g", "g", [{ labels: { queue: 'q"1\\' }, value: 2 }]),
			counter("gozon_c_total", "c", [{ labels: { nodeID: "b" }, value: 3 }]),
			h.family({ nodeID: "a" }),
		]);
		assert.equal(text.match(/# TYPE gozon_c_total counter/g)?.length, 1);
		assert.match(text, /gozon_c_total\{nodeID="a"\} 1\ngozon_c_total\{nodeID="b"\} 3/);
		assert.match(text, /gozon_g\{queue="q\\"1\\\\"\} 2/);
		assert.match(text, /gozon_x_seconds_bucket\{nodeID="a",le="0.1"\} 1/);
		assert.match(text, /gozon_x_seconds_bucket\{nodeID="a",le="1"\} 2/);
		assert.match(text, /gozon_x_seconds_bucket\{nodeID="a",le="\+Inf"\} 3/);
		assert.match(text, /gozon_x_seconds_count\{nodeID="a"\} 3/);
		assert.match(text, /gozon_x_seconds_sum\{nodeID="a"\} 5.55/);
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
