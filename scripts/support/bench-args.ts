/** The benchmark's command line, and what else of the bench's environment shapes its cluster. */
import { settings } from "../../lib/config";

export interface Args {
	orders: number;
	users: number;
	concurrency: number;
	rate?: number;
	url?: string;
	/** Orders nodes of the cluster the bench starts (ORDERS_NODES). */
	ordersNodes: number;
	/** Payments nodes of the cluster the bench starts (PAYMENTS_NODES). */
	paymentsNodes: number;
	quick: boolean;
	invariants: boolean;
	pgbench: boolean;
	reportOnly: boolean;
}

const VALUED = ["orders", "users", "concurrency", "rate", "url", "orders-nodes", "payments-nodes"];
const FLAGS = ["quick", "no-invariants", "skip-pgbench", "report-only"];

/** Refuses unknown or malformed options: a mistyped --report-only must not pass unnoticed. */
export function parseArgs(argv: string[]): Args {
	const values = new Map<string, string>();
	for (let i = 0; i < argv.length; i++) {
		const name = argv[i].replace(/^--/, "");
		if (VALUED.includes(name) && i + 1 < argv.length) values.set(name, argv[++i]);
		else if (!FLAGS.includes(name)) throw new Error(`Unknown or incomplete option: ${argv[i]}`);
	}
	const count = (name: string, fallback: number) => {
		const n = Number(values.get(name) ?? fallback);
		if (!(n > 0 && Number.isFinite(n))) throw new Error(`--${name} must be a positive number`);
		return n;
	};
	// scripts/start.ts takes up to 16 of a kind.
	const nodes = (name: string, fallback: number) => {
		const n = count(name, fallback);
		if (!Number.isInteger(n) || n > 16)
			throw new Error(`--${name} must be an integer from 1 to 16`);
		return n;
	};
	const quick = argv.includes("--quick");
	const url = values.get("url");
	if (url && (values.has("orders-nodes") || values.has("payments-nodes")))
		throw new Error(
			"--orders-nodes and --payments-nodes shape the bench's own cluster, not --url's",
		);
	return {
		orders: Math.round(count("orders", quick ? 1500 : 6000)),
		users: Math.round(count("users", 200)),
		concurrency: Math.round(count("concurrency", 64)),
		rate: values.has("rate") ? count("rate", 0) : undefined,
		url,
		ordersNodes: nodes("orders-nodes", 2),
		paymentsNodes: nodes("payments-nodes", 1),
		quick,
		invariants: !argv.includes("--no-invariants"),
		pgbench: !argv.includes("--skip-pgbench"),
		reportOnly: argv.includes("--report-only"),
	};
}

/**
 * What the cluster takes from the bench's own environment: Gozon's settings (lib/config.ts) and
 * NODE_OPTIONS, those the bench does not set itself (`own`). A run made with, say,
 * CONSUMER_CONCURRENCY=1 measured that setting, and its results must say so.
 */
export function environmentOverrides(
	env: NodeJS.ProcessEnv,
	own: Record<string, string>,
): Record<string, string> {
	const names = [...Object.values(settings).map(s => s.env), "NODE_OPTIONS"];
	return Object.fromEntries(
		names.filter(n => env[n] !== undefined && env[n] !== "" && !(n in own)).map(n => [n, env[n]!]),
	);
}
