import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import { join } from "path";
import { projectRoot } from "../../lib/paths";
import { alive, descendants } from "../../scripts/support/process-table";
import { eventually } from "../support/http";

describe("The supervisor (npm start, scripts/start.ts)", () => {
	let supervisor: ChildProcess | undefined;
	let nodes: number[] = [];
	const output: string[] = [];

	after(() => {
		// Whatever happened, nothing this test started outlives it.
		for (const pid of [supervisor?.pid, ...nodes])
			if (pid && alive(pid))
				try {
					process.kill(pid, "SIGKILL");
				} catch {
					// already gone
				}
	});

	it("When the supervisor is killed with SIGKILL, then every node it started stops by itself within 25 s", async function () {
		this.timeout(120_000);
		supervisor = spawn(
			process.execPath,
			["--import", "tsx", join(projectRoot, "scripts", "start.ts")],
			{
				env: { ...process.env, GATEWAY_NODES: "1", ORDERS_NODES: "2", PAYMENTS_NODES: "1" },
				stdio: ["ignore", "pipe", "pipe"],
			},
		);
		supervisor.stdout!.on("data", d => output.push(String(d)));
		supervisor.stderr!.on("data", d => output.push(String(d)));
		const started = () =>
			[...output.join("").matchAll(/started \(pid (\d+)\)/g)].map(m => Number(m[1]));
		await eventually(async () => started().length === 4, "four nodes to start", 30_000, 100);
		nodes = started();
		// Up and serving, not still starting: the whole cluster answers an API call.
		await eventually(
			async () => {
				const res = await fetch(`http://127.0.0.1:${process.env.API_PORT}/api/orders?limit=1`, {
					headers: { "X-User-ID": "1" },
				}).catch(() => undefined);
				return res?.status === 200;
			},
			`the API to answer: ${output.join("").slice(-2000)}`,
			60_000,
			200,
		);
		const tree = descendants(supervisor.pid!);
		assert.ok(
			nodes.every(pid => tree.includes(pid)),
			"the nodes are the supervisor's children",
		);
		nodes = tree;

		process.kill(supervisor.pid!, "SIGKILL");
		const killedAt = Date.now();
		await eventually(
			async () => nodes.every(pid => !alive(pid)),
			`every node to exit; still running: ${nodes.filter(alive).join(", ")}`,
			25_000,
			100,
		);

		assert.ok(Date.now() - killedAt < 25_000);
	});
});
