/**
 * kill -9 of the supervisor (`npm start`, scripts/start.ts). The chaos cluster starts its nodes
 * itself, so for this fault one orders node is handed to a supervisor of its own: the node is
 * stopped, a supervisor runs one orders node in its place, and once that serves the supervisor
 * is killed with SIGKILL. Every process under it must exit by itself (lib/parent-watch.ts) within
 * ORPHAN_DEADLINE_MS; a supervisor started again must bring the node back. Then the cluster's
 * own node takes its place again.
 */
import { ChildProcess, spawn } from "child_process";
import { join } from "path";
import { projectRoot } from "../../lib/paths";
import { alive, descendants } from "../support/process-table";
import { sleep } from "../support/harness";
import { env, exited, launch, Node, nodeNamed, terminate, waitReady } from "./cluster";
import type { Fault } from "./faults";

/** As test/integration/supervisor.test.ts: a node stops within 25 s of losing its supervisor. */
const ORPHAN_DEADLINE_MS = 25_000;

/** Starts a supervisor running one orders node; resolves with it once the node has a pid. */
async function supervise(node: Node): Promise<ChildProcess> {
	const supervisor = spawn(process.execPath, [join(projectRoot, "dist", "scripts", "start.js")], {
		env: {
			...process.env,
			...env,
			TRANSPORTER: env.AMQP_URL,
			GATEWAY_NODES: "0",
			ORDERS_NODES: "1",
			PAYMENTS_NODES: "0",
		},
		stdio: ["ignore", "pipe", "pipe"],
	});
	node.supervisor = supervisor;
	let out = "";
	// Read to the end: a full pipe would stall the supervisor and the node it relays.
	const keep = (d: Buffer) => {
		out = (out + d).slice(-20_000);
		if (process.env.CHAOS_VERBOSE) process.stderr.write(`[supervisor] ${d}`);
	};
	supervisor.stdout!.on("data", keep);
	supervisor.stderr!.on("data", keep);
	const deadline = Date.now() + 60_000;
	for (;;) {
		const m = /started \(pid (\d+)\)/.exec(out);
		if (m) {
			node.supervisedPid = Number(m[1]);
			return supervisor;
		}
		if (supervisor.exitCode !== null || Date.now() > deadline)
			throw new Error(`the supervisor started no node: ${out.slice(-500)}`);
		await sleep(100);
	}
}

export const killSupervisor: Fault = {
	name: "kill -9 the supervisor",
	async inject() {
		const node = nodeNamed("orders-2");
		let leftover: number[] = [];
		try {
			await terminate(node.child!);
			node.child = undefined;
			let supervisor = await supervise(node);
			await waitReady(60_000);
			await sleep(3000);
			const tree = descendants(supervisor.pid!);
			if (!tree.includes(node.supervisedPid!))
				throw new Error(`the node ${node.supervisedPid} is not under its supervisor`);
			leftover = tree;
			supervisor.kill("SIGKILL");
			await exited(supervisor);
			const deadline = Date.now() + ORPHAN_DEADLINE_MS;
			while (tree.some(alive) && Date.now() < deadline) await sleep(200);
			const orphans = tree.filter(alive);
			if (orphans.length)
				throw new Error(
					`orphan node processes ${ORPHAN_DEADLINE_MS / 1000} s after kill -9 of the supervisor: ${orphans.join(", ")}`,
				);
			// Started again, the supervisor brings its node back.
			supervisor = await supervise(node);
			await waitReady(60_000);
			leftover = descendants(supervisor.pid!);
			// SIGTERM: the supervisor stops its node gracefully, then exits.
			await terminate(supervisor, 25_000);
		} finally {
			for (const pid of leftover.filter(alive))
				try {
					process.kill(pid, "SIGKILL");
				} catch {
					// gone meanwhile
				}
			if (
				node.supervisor &&
				node.supervisor.exitCode === null &&
				node.supervisor.signalCode === null
			)
				node.supervisor.kill("SIGKILL");
			node.supervisor = undefined;
			node.supervisedPid = undefined;
			if (!node.child) launch(node);
		}
	},
};
