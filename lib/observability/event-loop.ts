import { monitorEventLoopDelay } from "perf_hooks";
import type { Middleware, ServiceBroker } from "moleculer";

/** Gauges of this process's event-loop delay, in seconds, over the last interval. */
export const EVENT_LOOP_METRICS = {
	p50: "process.eventloop.delay.p50",
	p99: "process.eventloop.delay.p99",
	max: "process.eventloop.delay.max",
} as const;

/**
 * How often the histogram's timer samples the loop. Each sample wakes an idle process, and a
 * wake costs about 0.1 ms of CPU on the 2-core VM of docs/benchmark.md: an idle Node process
 * with the histogram at Node's usual 10 ms spent 9.9 ms of CPU a second, at 100 ms 2.2, without
 * it 0.3 (four nodes at 10 ms: a third of the whole system's idle cost). At 100 ms a blocked
 * loop still shows in full in the next sample; a window of 5 s holds 50 samples, so p99 is
 * close to the max.
 */
export const EVENT_LOOP_RESOLUTION_MS = 100;

/**
 * Event-loop delay in Moleculer's metrics registry. Moleculer 0.15 dropped its event-loop
 * (and GC) metrics with the native `event-loop-stats` module; Node's own perf_hooks histogram
 * measures the same thing without a native module. Every node's registry carries these, so
 * GET /metrics shows them per node (`process_eventloop_delay_p99{nodeID=…}`).
 */
export function eventLoopMetrics(intervalMs = 5000): Middleware {
	const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
	let timer: NodeJS.Timeout | undefined;
	return {
		name: "EventLoopMetrics",
		async started(broker: ServiceBroker) {
			if (!broker.isMetricsEnabled()) return;
			for (const [stat, name] of Object.entries(EVENT_LOOP_METRICS)) {
				broker.metrics.register({
					name,
					type: "gauge",
					unit: "seconds",
					description: `Event-loop delay, ${stat} over the last ${intervalMs / 1000} s`,
				});
				broker.metrics.set(name, 0);
			}
			histogram.enable();
			timer = setInterval(() => {
				const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
				broker.metrics.set(EVENT_LOOP_METRICS.p50, seconds(histogram.percentile(50)));
				broker.metrics.set(EVENT_LOOP_METRICS.p99, seconds(histogram.percentile(99)));
				broker.metrics.set(EVENT_LOOP_METRICS.max, seconds(histogram.max));
				histogram.reset();
			}, intervalMs).unref();
		},
		async stopped() {
			if (timer) clearInterval(timer);
			histogram.disable();
		},
	};
}
