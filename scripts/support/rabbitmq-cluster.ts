/**
 * The three-node RabbitMQ cluster of scripts/rabbitmq-cluster.sh, for the chaos scenario and the
 * failover test: start it (or say why it cannot), its URLs, a vhost of one's own, where each
 * quorum queue leads, kill -9 a node. Nothing here touches the default node on 5672.
 */
import { existsSync } from "fs";
import { join } from "path";
import { projectRoot } from "../../lib/paths";
import { run } from "./harness";

export const CLUSTER_SCRIPT = join(projectRoot, "scripts", "rabbitmq-cluster.sh");
export const CLUSTER_NODES = [1, 2, 3] as const;
export const nodeName = (i: number) => `gozon-mq-${i}@localhost`;
export const amqpPort = (i: number) => 5680 + i;
const consolePort = (i: number) => 15680 + i;
const AUTH = `Basic ${Buffer.from("guest:guest").toString("base64")}`;

/** The comma-separated AMQP_URL of the cluster's nodes, in order, on `vhost`. */
export function clusterUrls(vhost: string, nodes: readonly number[] = CLUSTER_NODES): string {
	return nodes
		.map(i => `amqp://guest:guest@127.0.0.1:${amqpPort(i)}/${encodeURIComponent(vhost)}`)
		.join(",");
}

/** The node number of `gozon-mq-N@localhost`. */
export const nodeIndex = (name: string) => Number(/^gozon-mq-(\d+)@/.exec(name)?.[1] ?? NaN);

function script(args: string[], timeoutMs = 60_000): Promise<string> {
	return run("bash", [CLUSTER_SCRIPT, ...args], timeoutMs);
}

/**
 * Starts whichever node is down (the script is idempotent) and waits for all three; resolves
 * with null, or with the reason the cluster cannot run on this machine. A start that fails is
 * tried once more on a new cluster (state left by an earlier run, a crashed node's data, must
 * not decide it); the reason then carries the nodes' last log lines.
 */
export async function startCluster(timeoutMs = 300_000): Promise<string | null> {
	if (!existsSync("/usr/lib/rabbitmq/bin/rabbitmq-server"))
		return "rabbitmq-server is not installed here (/usr/lib/rabbitmq/bin/rabbitmq-server)";
	const attempt = () =>
		script(["start"], timeoutMs).then(
			() => null,
			(err: Error) => err.message.trim().split("\n").slice(-3).join(" / "),
		);
	const first = await attempt();
	if (!first) return null;
	const logs = await script(["logs", "8"]).catch((err: Error) => err.message);
	console.error(
		`rabbitmq-cluster: start failed (${first}); starting a new cluster. Logs:\n${logs}`,
	);
	await script(["reset"], 120_000).catch(() => undefined);
	const second = await attempt();
	if (!second) return null;
	const after = await script(["logs", "8"]).catch((err: Error) => err.message);
	return `scripts/rabbitmq-cluster.sh start failed twice: ${first}; then, on a new cluster: ${second}\n${after}`;
}

export const stopCluster = () => script(["stop"], 120_000);

/** Whether node `i` runs (the script's pid file names a live process). */
export async function nodeRuns(i: number): Promise<boolean> {
	return Boolean((await script(["pid", String(i)]).catch(() => "")).trim());
}

/** kill -9 of node `i`; resolves with its pid. */
export async function killNode(i: number): Promise<number> {
	const pid = Number((await script(["pid", String(i)])).trim());
	if (!pid) throw new Error(`${nodeName(i)} is not running`);
	process.kill(pid, "SIGKILL");
	return pid;
}

async function api(path: string, method = "GET", body?: unknown): Promise<Response> {
	let last: unknown;
	for (const i of CLUSTER_NODES) {
		try {
			const res = await fetch(`http://127.0.0.1:${consolePort(i)}/api${path}`, {
				method,
				headers: { Authorization: AUTH, "Content-Type": "application/json" },
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(10_000),
			});
			if (res.status >= 500) throw new Error(`${method} ${path}: ${res.status}`);
			return res;
		} catch (err) {
			last = err; // that node is down: ask the next
		}
	}
	throw last;
}

/** Deletes and creates `vhost` on the cluster, with every permission for guest. */
export async function resetVhost(vhost: string): Promise<void> {
	const v = encodeURIComponent(vhost);
	await api(`/vhosts/${v}`, "DELETE");
	const put = await api(`/vhosts/${v}`, "PUT", {});
	if (!put.ok) throw new Error(`creating vhost ${vhost}: ${put.status}`);
	await api(`/permissions/${v}/guest`, "PUT", { configure: ".*", write: ".*", read: ".*" });
}

export interface QuorumQueue {
	name: string;
	leader: string;
	members: string[];
	online: string[];
	messages: number;
}

/** The quorum queues of `vhost`, as their processes see them now (not the console's lagging figures). */
export async function quorumQueues(vhost: string): Promise<QuorumQueue[]> {
	return JSON.parse(await script(["queues", vhost]));
}

export interface RaftMember {
	"Node Name": string;
	"Raft State": string;
	"Log Index": number;
	"Commit Index": number;
}

/** Each replica of a quorum queue: its Raft state and how far its log goes. */
export async function raftStatus(vhost: string, queue: string): Promise<RaftMember[]> {
	return JSON.parse(await script(["raft", vhost, queue]));
}
