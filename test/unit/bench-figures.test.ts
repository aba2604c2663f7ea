import { strict as assert } from "assert";
import { environmentOverrides, parseArgs } from "../../scripts/support/bench-args";
import { batchingFigures, batchingTable } from "../../scripts/support/bench-batching";
import { lowRateSplit } from "../../scripts/support/bench-report";
import { epochMs, stageFigures, StoredTimes } from "../../scripts/support/bench-stages";

type Snap = Parameters<typeof batchingFigures>[0];

const snap = (counters: Snap["counters"], over: Partial<Snap> = {}): Snap => ({
	xacts: 1000,
	statements: { all: 5000, control: 2000 },
	counters,
	vhost: { published: 100, delivered: 100 },
	...over,
});

describe("The bench's batching figures", () => {
	it("When the counters of two orders nodes moved, then relay batches and rounds are per order over both, consumer batches per queue", () => {
		const before = snap({
			"gozon_outbox_published_total|orders|o-1": 10,
			"gozon_outbox_relay_rounds_total|orders|o-1": 5,
			"gozon_consumer_handled_total|orders.to_pay|p-1": 0,
			"gozon_consumer_batches_total|orders.to_pay|p-1": 0,
		});
		const after = snap(
			{
				"gozon_outbox_published_total|orders|o-1": 70,
				"gozon_outbox_published_total|orders|o-2": 40,
				"gozon_outbox_relay_rounds_total|orders|o-1": 8,
				"gozon_outbox_relay_rounds_total|orders|o-2": 2,
				"gozon_outbox_relay_empty_rounds_total|orders|o-2": 4,
				"gozon_consumer_handled_total|orders.to_pay|p-1": 100,
				"gozon_consumer_batches_total|orders.to_pay|p-1": 8,
			},
			{
				xacts: 1250,
				statements: { all: 5900, control: 2400 },
				vhost: { published: 500, delivered: 520 },
			},
		);

		const f = batchingFigures(before, after, 100);

		// (60 + 40) rows in (3 + 2) rounds; 4 empty rounds; 100 messages in 8 batches.
		assert.deepEqual(f.relay.orders, {
			rowsPerRound: 20,
			roundsPerOrder: 0.05,
			emptyRoundsPerOrder: 0.04,
		});
		assert.equal(f.consumerBatch["orders.to_pay"], 12.5);
		assert.equal(f.pgTransactionsPerOrder, 2.5);
		assert.equal(f.pgStatementsPerOrder, 5);
		assert.equal(f.pgTransactionControlPerOrder, 4);
		assert.equal(f.amqpBusinessPublishedPerOrder, 1);
		assert.equal(f.amqpBusinessDeliveredPerOrder, 1);
		assert.equal(f.amqpVhostPublishedPerOrder, 4);
		assert.equal(f.amqpVhostDeliveredPerOrder, 4.2);
		assert.deepEqual(f.notes, []);
	});

	it("When pg_stat_statements or the management API cannot be read, then their figures are null and a note says why", () => {
		const missing = { error: "pg_stat_statements must be loaded via shared_preload_libraries" };
		const f = batchingFigures(
			snap({}, { statements: missing }),
			snap({}, { statements: missing, vhost: { error: "management API /api/vhosts/x: 404" } }),
			100,
		);

		assert.equal(f.pgStatementsPerOrder, null);
		assert.equal(f.amqpVhostPublishedPerOrder, null);
		assert.equal(f.pgTransactionsPerOrder, 0);
		assert.ok(
			f.notes.some(n => /statements .*not available: pg_stat_statements must be loaded/.test(n)),
			f.notes.join("; "),
		);
		assert.ok(f.notes.some(n => /management API .*404/.test(n)));
		assert.match(
			batchingTable([{ name: "run", batching: f }]),
			/^- PostgreSQL statements \(pg_stat_statements\) not available: .* \("run"\)$/m,
		);
	});

	it("When a node restarted or the database was made anew, then the lost counts are said, not hidden", () => {
		const f = batchingFigures(
			snap({ "gozon_outbox_published_total|payments|p-1": 500 }),
			snap({ "gozon_outbox_published_total|payments|p-1": 20 }, { xacts: 10 }),
			10,
		);

		assert.equal(f.pgTransactionsPerOrder, null);
		assert.ok(f.notes.some(n => n.includes("restarted during the run") && n.includes("p-1")));
		assert.ok(f.notes.some(n => n.includes("went back")));
	});
});

describe("The bench's stage latencies and low-rate split", () => {
	it("When an order's four timestamps are known, then each stage is the span between two of them; an order missing one is left out", () => {
		// Order a: sent at t=0, stored 5 ms later, paid at 12, result at 30, pushed at 31.
		const t0 = 1000; // performance.now() time of the send
		const at = (ms: number) => epochMs(t0 + ms);
		const run = {
			acceptedBy: new Map([
				["a", 1],
				["b", 1],
			]),
			startOf: new Map([
				["a", t0],
				["b", t0],
			]),
			pushed: new Map([
				["a", { at: t0 + 31, status: "FINISHED" }],
				["b", { at: t0 + 50, status: "FINISHED" }],
			]),
		};
		const stored = new Map<string, StoredTimes>([
			["a", { created: at(5), updated: at(30) }],
			["b", { created: at(6), updated: at(40) }],
		]);
		// b has no payment row: it cannot be split, so it does not count.
		const f = stageFigures(run, stored, new Map([["a", at(12)]]));

		assert.equal(f.orders, 1);
		assert.deepEqual(f.ms, {
			placed: { p50: 5, p99: 5 },
			"to payment": { p50: 7, p99: 7 },
			"to result": { p50: 18, p99: 18 },
			"to push": { p50: 1, p99: 1 },
		});
	});

	it("When the 20/s run and the idle window are known, then each component is split into the idle share and the orders' own work", () => {
		const low = { perOrder: { gateway: 3, PostgreSQL: 6, "load generator": 2 }, serverPerOrder: 9 };
		const idle = {
			perOrder: { gateway: 20, PostgreSQL: 40, "load generator": 1 },
			serverPerOrder: 60,
		};

		const line = lowRateSplit(low, idle, 20);

		assert.match(line, /gateway 3 = 1 \+ 2, PostgreSQL 6 = 2 \+ 4;/);
		assert.match(line, /total 9 = 3 \+ 6/);
		assert.doesNotMatch(line, /load generator/);
	});
});

describe("The bench's command line", () => {
	it("When no topology is given, then two orders nodes and one payments node, as npm start", () => {
		const args = parseArgs(["--quick"]);
		assert.equal(args.ordersNodes, 2);
		assert.equal(args.paymentsNodes, 1);
		assert.equal(parseArgs(["--orders-nodes", "1", "--payments-nodes", "2"]).paymentsNodes, 2);
	});

	it("When the bench's environment sets a Gozon setting or NODE_OPTIONS it does not set itself, then the run names it", () => {
		const env = {
			CONSUMER_CONCURRENCY: "1",
			NODE_OPTIONS: "--max-semi-space-size=32",
			ORDERS_DATABASE_URL: "postgres://elsewhere/db", // the bench sets its own
			OUTBOX_POLL_MS: "", // empty: the default
			HOME: "/root", // not a setting
		};

		const overrides = environmentOverrides(env, { ORDERS_DATABASE_URL: "postgres://bench/db" });

		assert.deepEqual(overrides, {
			CONSUMER_CONCURRENCY: "1",
			NODE_OPTIONS: "--max-semi-space-size=32",
		});
	});

	it("When a node count is not 1–16, or is given with --url, then the bench refuses it", () => {
		assert.throws(
			() => parseArgs(["--orders-nodes", "0"]),
			/--orders-nodes must be a positive number/,
		);
		assert.throws(() => parseArgs(["--payments-nodes", "1.5"]), /integer from 1 to 16/);
		assert.throws(() => parseArgs(["--orders-nodes", "17"]), /integer from 1 to 16/);
		assert.throws(
			() => parseArgs(["--url", "http://x:8000", "--orders-nodes", "1"]),
			/not --url's/,
		);
	});
});
