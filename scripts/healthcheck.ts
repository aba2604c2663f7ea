/**
 * Health of the node running in this container: `node dist/scripts/healthcheck.js`, with the
 * role from NODE_ROLE (or the first argument) as for scripts/node.ts. Exits 0 when healthy,
 * 1 with one line saying why not.
 *
 * - gateway: GET /health/live on API_PORT answers 2xx.
 * - orders, payments: the node of this container is in the Moleculer cluster, offers its
 *   service, and answers a ping over the transporter. The check joins the cluster as a
 *   short-lived node without services to ask; other nodes log its arrival and departure.
 *   It finds its node by the nodeID `<NODE_NAME or role>-<hostname>-<pid>` (moleculer.config.ts):
 *   the container's hostname is shared by the node and this check.
 */
import { hostname } from "os";
import { ConfigError, loadConfig } from "../lib/config";
// Type only: services/node.ts loads every service, which a check run every few seconds need not.
import type { Role } from "../services/node";

const TIMEOUT_MS = 8000;

class Unhealthy extends Error {}

async function checkGateway(port: number): Promise<string> {
	const url = `http://127.0.0.1:${port}/health/live`;
	let res: Response;
	try {
		res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
	} catch (err) {
		throw new Unhealthy(`${url} did not answer: ${(err as Error).message}`);
	}
	if (!res.ok) throw new Unhealthy(`${url} answered ${res.status}`);
	return `${url} answered ${res.status}`;
}

interface ServiceInstance {
	name: string;
	nodeID: string;
}

async function checkNode(service: "orders" | "payments", nodeName: string): Promise<string> {
	// Loaded here, not at the top: the gateway's check needs only fetch.
	// Not import(): the check also runs from source under tsx's CommonJS hook, where import() of
	// an extensionless TypeScript path does not resolve.
	/* eslint-disable @typescript-eslint/no-require-imports */
	const { ServiceBroker } = require("moleculer") as typeof import("moleculer");
	const { brokerOptions } = require("../moleculer.config") as typeof import("../moleculer.config");
	/* eslint-enable @typescript-eslint/no-require-imports */
	const config = loadConfig();
	const prefix = `${nodeName}-${hostname()}-`;
	const broker = new ServiceBroker({
		...brokerOptions(config, "healthcheck"),
		cacher: undefined,
		logger: false,
		skipProcessEventRegistration: true,
	});
	const deadline = Date.now() + TIMEOUT_MS;
	try {
		await broker.start();
		// The other nodes answer the check's DISCOVER with their INFO within a moment.
		let nodeID: string | undefined;
		while (!nodeID) {
			const offers = broker.registry.getServiceList({
				onlyAvailable: true,
				skipInternal: true,
			}) as unknown as ServiceInstance[];
			nodeID = offers.find(s => s.name === service && s.nodeID.startsWith(prefix))?.nodeID;
			if (nodeID) break;
			if (Date.now() > deadline)
				throw new Unhealthy(
					`no node ${prefix}* offering "${service}" in namespace ${config.namespace}`,
				);
			await new Promise(r => setTimeout(r, 50));
		}
		const pong = await broker.ping(nodeID, Math.max(deadline - Date.now(), 1000));
		if (!pong) throw new Unhealthy(`node ${nodeID} did not answer a ping`);
		return `node ${nodeID} offers "${service}" and answered a ping in ${pong.elapsedTime} ms`;
	} finally {
		await broker.stop().catch(() => undefined);
	}
}

/** One check per role; typed by Role so that a new role cannot go without one. */
const checks: Record<Role, (nodeName: string) => Promise<string>> = {
	gateway: () => checkGateway(loadConfig().apiPort),
	orders: nodeName => checkNode("orders", nodeName),
	payments: nodeName => checkNode("payments", nodeName),
};

async function main(): Promise<string> {
	const role = process.argv[2] ?? process.env.NODE_ROLE ?? "";
	if (!Object.hasOwn(checks, role))
		throw new ConfigError(
			`NODE_ROLE must be one of ${Object.keys(checks).join(", ")}, got "${role}"`,
		);
	return checks[role as Role](process.env.NODE_NAME ?? role);
}

main().then(
	ok => {
		console.log(`healthy: ${ok}`);
		process.exit(0);
	},
	err => {
		const known = err instanceof Unhealthy || err instanceof ConfigError;
		console.error(`unhealthy: ${known ? err.message : ((err as Error).stack ?? err)}`);
		process.exit(1);
	},
);
