/**
 * The chaos suite's own verdicts on a fault (scripts/chaos/long-faults.ts), fed with recorded
 * load, so that each check is seen to fail on the outcome it exists to catch and to pass on a
 * good one. No service is touched: only the judging code runs.
 */
import { strict as assert } from "assert";
import type { FaultContext } from "../../scripts/chaos/faults";
import { Load } from "../../scripts/chaos/load";
import { memoryAlarm, stopBroker, stopRedis } from "../../scripts/chaos/long-faults";

const T0 = 1_000_000;
const OUTAGE = { from: T0, to: T0 + 60_000 };
const window = { from: T0, to: T0 + 65_000 };

/** A load that sent an order and a read every 100 ms through the outage, each taking `ms`. */
function load(postMs: (i: number) => number, getMs: (i: number) => number = () => 20): Load {
	const l = new Load("http://127.0.0.1:1", 10, [1]);
	for (let i = 0, t = OUTAGE.from; t < OUTAGE.to; i++, t += 100) {
		l.placed.push({
			key: `k${i}`,
			userId: 1,
			amount: 1,
			due: t,
			sentAt: t,
			id: `id${i}`,
			acceptedAt: t + postMs(i),
		});
		l.reads.push({ at: t, end: t + getMs(i), status: 200 });
	}
	return l;
}
const ctx = (l: Load): FaultContext => ({ load: l, outage: OUTAGE, short: false });

describe("Chaos verdicts: Redis stopped", () => {
	it("When every POST and GET was answered fast with Redis down, then the fault's check finds nothing", () => {
		assert.deepEqual(stopRedis.check!(ctx(load(() => 40)), window), []);
	});

	it("When POSTs were slow (p99 over 300 ms) with Redis down, then the check fails and says so", () => {
		const problems = stopRedis.check!(ctx(load(i => (i % 20 === 0 ? 400 : 40))), window);
		assert.equal(problems.length, 1);
		assert.match(problems[0], /POST p99 400 ms with Redis down, over 300 ms/);
	});

	it("When GETs were slow or failed with Redis down, then the check fails and says so", () => {
		const slow = stopRedis.check!(
			ctx(
				load(
					() => 40,
					i => (i % 20 === 0 ? 350 : 20),
				),
			),
			window,
		);
		assert.match(slow.join(";"), /GET p99 350 ms/);
		const l = load(() => 40);
		l.reads[3].status = 503;
		l.failures.push({ at: T0 + 500, end: T0 + 510, status: 503, detail: "" });
		const failed = stopRedis.check!(ctx(l), window);
		assert.match(failed.join(";"), /1 POSTs failed/);
		assert.match(failed.join(";"), /1 GETs failed/);
	});

	it("When the outage was never marked, then the check fails (the fault did not run)", () => {
		assert.match(
			stopRedis.check!({ load: load(() => 40), short: false }, window).join(),
			/never marked/,
		);
	});
});

describe("Chaos verdicts: broker stopped or blocked (writes fail fast)", () => {
	const failing = (status: number, ms: number) => {
		const l = load(() => 40);
		for (let t = OUTAGE.from + 2000; t < OUTAGE.to; t += 500)
			l.failures.push({ at: t, end: t + ms, status, detail: "" });
		return l;
	};

	it("When every POST in the outage got a 503 within 2 s, then the check finds nothing", () => {
		assert.deepEqual(stopBroker.check!(ctx(failing(503, 150)), window), []);
		assert.deepEqual(memoryAlarm.check!(ctx(failing(503, 150)), window), []);
	});

	it("When POSTs hung past 2 s or got another status, then the check fails and names them", () => {
		assert.match(
			stopBroker.check!(ctx(failing(503, 2500)), window).join(),
			/were not a 503 within 2000 ms/,
		);
		assert.match(memoryAlarm.check!(ctx(failing(500, 100)), window).join(), /500 after 100 ms/);
		assert.match(
			stopBroker.check!(ctx(failing(0, 10_000)), window).join(),
			/no answer after 10000 ms/,
		);
	});

	it("When no POST failed during the outage, then the check fails: the fault did not bite", () => {
		assert.match(stopBroker.check!(ctx(load(() => 40)), window).join(), /did not bite/);
	});
});
