import { ChildProcess, spawn } from "child_process";
import { join } from "path";
import type { ServiceBroker } from "moleculer";
import { Config, loadConfig } from "../../lib/config";
import { createNode, Role } from "../../services/node";
import { projectRoot } from "../../lib/paths";
import { publishRaw, RawMessage } from "./amqp";
import { eventually } from "./http";

export interface ClusterOptions {
	/** Nodes to run in this process, e.g. ["gateway", "orders", "orders", "payments"]. */
	nodes: Role[];
	/** Config overrides per role (e.g. a proxied AMQP_URL for orders). */
	overrides?: Partial<Record<Role, Partial<Config>>>;
	/** Services to wait for before start() resolves (default: orders and payments). */
	waitFor?: string[];
}

/** Real brokers (AMQP transporter, Redis cacher, PostgreSQL) in the test process. */
export class TestCluster {
	readonly brokers: ServiceBroker[] = [];
	readonly config = loadConfig();

	constructor(private readonly opts: ClusterOptions) {}

	async start(): Promise<this> {
		const counts: Record<string, number> = {};
		for (const role of this.opts.nodes) {
			counts[role] = (counts[role] ?? 0) + 1;
			const config = { ...this.config, ...(this.opts.overrides?.[role] ?? {}) };
			if (role === "gateway" && counts[role] > 1)
				config.apiPort = this.config.apiPort + counts[role] - 1;
			this.brokers.push(createNode(config, role, `${role}-${counts[role]}`));
		}
		await Promise.all(this.brokers.map(b => b.start()));
		const waitFor = this.opts.waitFor ?? ["orders", "payments"];
		if (waitFor.length)
			await Promise.all(this.brokers.map(b => b.waitForServices(waitFor, 20_000)));
		return this;
	}

	async stop(): Promise<void> {
		await Promise.all(this.brokers.splice(0).map(b => b.stop()));
	}

	/** Messages the service's consumers have handled so far, summed over its nodes in this cluster. */
	async handled(service: "orders" | "payments"): Promise<number> {
		let total = 0;
		for (const b of this.brokers) {
			if (!b.getLocalService(service)) continue;
			const stats = await b.call<{ consumers: { handled: number }[] }, object>(
				`${service}.stats`,
				{},
				{ nodeID: b.nodeID },
			);
			total += stats.consumers.reduce((n, c) => n + c.handled, 0);
		}
		return total;
	}

	/** Publishes copies to a queue and waits until the service's consumers here have handled every one. */
	async deliver(
		queue: string,
		service: "orders" | "payments",
		copies: RawMessage[],
	): Promise<void> {
		const before = await this.handled(service);
		await publishRaw(queue, copies);
		await eventually(
			async () => (await this.handled(service)) >= before + copies.length,
			`${service} to handle the copies`,
		);
	}

	get apiUrl(): string {
		return `http://127.0.0.1:${this.config.apiPort}`;
	}
}

/** A node in its own OS process (for kill -9 tests), running the TypeScript sources. */
export function spawnNode(role: Role, env: Record<string, string> = {}): ChildProcess {
	const child = spawn(
		process.execPath,
		["--import", "tsx", join(projectRoot, "scripts", "node.ts"), role],
		{
			env: { ...process.env, NODE_NAME: `${role}-child`, ...env },
			stdio: ["ignore", "pipe", "pipe"],
		},
	);
	child.stderr!.on("data", d => process.env.TEST_LOG_LEVEL && process.stderr.write(d));
	child.stdout!.on("data", d => process.env.TEST_LOG_LEVEL && process.stdout.write(d));
	return child;
}

export function exited(child: ChildProcess): Promise<number | string | null> {
	if (child.exitCode !== null || child.signalCode !== null)
		return Promise.resolve(child.exitCode ?? child.signalCode);
	return new Promise(resolve => child.once("exit", (code, signal) => resolve(code ?? signal)));
}

export async function stopChild(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	child.kill("SIGTERM");
	const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
	await exited(child);
	clearTimeout(timer);
}

/**
 * Payments in processes of their own beside an in-process `cluster` (gateway, orders), so a
 * test can really kill one (SIGKILL) mid-message. `stopAll` in the test's `after`.
 */
export function separatePayments(cluster: TestCluster) {
	const children: ChildProcess[] = [];
	return {
		/** Starts one and waits until the cluster sees the payments service. */
		async start(env: Record<string, string> = {}): Promise<ChildProcess> {
			const child = spawnNode("payments", env);
			children.push(child);
			await cluster.brokers[0].waitForServices(["payments"], 30_000);
			return child;
		},
		/** Until the first broker's registry has dropped every payments node (a killed one after the heartbeat timeout). */
		gone: () =>
			eventually(
				async () =>
					!cluster.brokers[0].registry
						.getServiceList({ onlyAvailable: true })
						.some((s: { name: string }) => s.name === "payments"),
				"payments to leave the registry",
				30_000,
				100,
			),
		stopAll: () => Promise.all(children.map(stopChild)),
	};
}
