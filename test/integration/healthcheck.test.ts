import { strict as assert } from "assert";
import { execFile } from "child_process";
import { projectRoot } from "../../lib/paths";
import { TestCluster } from "../support/cluster";

interface CheckResult {
	code: number;
	output: string;
}

/** Runs the container healthcheck (scripts/healthcheck.ts, built to dist/scripts/healthcheck.js). */
function healthcheck(env: Record<string, string>): Promise<CheckResult> {
	return new Promise(resolve =>
		execFile(
			process.execPath,
			["-r", "tsx/cjs", "scripts/healthcheck.ts"],
			{ cwd: projectRoot, env: { ...process.env, ...env } },
			(err, stdout, stderr) =>
				resolve({
					code: err ? Number((err as { code?: number }).code ?? 1) : 0,
					output: stdout + stderr,
				}),
		),
	);
}

describe("Container healthcheck (scripts/healthcheck.ts)", () => {
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "payments"] });

	before(() => cluster.start());
	after(() => cluster.stop());

	it("When every node runs, then the gateway, orders and payments checks pass", async () => {
		const [gateway, orders, payments] = await Promise.all([
			healthcheck({ NODE_ROLE: "gateway" }),
			healthcheck({ NODE_ROLE: "orders", NODE_NAME: "orders-1" }),
			healthcheck({ NODE_ROLE: "payments", NODE_NAME: "payments-1" }),
		]);

		assert.equal(gateway.code, 0, gateway.output);
		assert.match(
			gateway.output,
			new RegExp(
				`healthy: http://127\\.0\\.0\\.1:${cluster.config.apiPort}/health/live answered 200`,
			),
		);
		assert.equal(orders.code, 0, orders.output);
		assert.match(orders.output, /healthy: node orders-1-\S+ offers "orders" and answered a ping/);
		assert.equal(payments.code, 0, payments.output);
		assert.match(payments.output, /healthy: node payments-1-\S+ offers "payments"/);
	});

	it("When the check names a node that is not there or a port nothing listens on, then it fails with the reason", async () => {
		const [missingNode, closedPort, badRole] = await Promise.all([
			healthcheck({ NODE_ROLE: "orders", NODE_NAME: "orders-2" }),
			healthcheck({ NODE_ROLE: "gateway", API_PORT: String(cluster.config.apiPort + 9) }),
			healthcheck({ NODE_ROLE: "shipping" }),
		]);

		assert.equal(missingNode.code, 1);
		assert.match(missingNode.output, /unhealthy: no node orders-2-\S+ offering "orders"/);
		assert.equal(closedPort.code, 1);
		assert.match(closedPort.output, /unhealthy: .*did not answer/);
		assert.equal(badRole.code, 1);
		assert.match(badRole.output, /NODE_ROLE must be one of gateway, orders, payments/);
	});

	it("When the payments node stops, then its check fails", async () => {
		const payments = cluster.brokers.find(b => b.getLocalService("payments"))!;
		cluster.brokers.splice(cluster.brokers.indexOf(payments), 1);
		await payments.stop();

		const result = await healthcheck({ NODE_ROLE: "payments", NODE_NAME: "payments-1" });

		assert.equal(result.code, 1, result.output);
		assert.match(result.output, /unhealthy: no node payments-1-\S+ offering "payments"/);
	});
});
