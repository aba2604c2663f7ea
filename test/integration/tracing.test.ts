import { strict as assert } from "assert";
import type { Config } from "../../lib/config";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId, type Json } from "../support/http";

describe("Tracing: one order followed through the logs (TRACING=true, LOG_FORMAT=json)", () => {
	const traced: Partial<Config> = { tracing: true, logFormat: "json", logLevel: "info" };
	const cluster = new TestCluster({
		nodes: ["gateway", "orders", "payments"],
		overrides: { gateway: traced, orders: traced, payments: traced },
	});
	const api = apiClient(cluster.apiUrl);
	const lines: Record<string, Json>[] = [];
	const saved = { info: console.info, log: console.log, warn: console.warn, error: console.error };

	before(async () => {
		const capture = (...args: unknown[]) => {
			const text = args.join(" ");
			try {
				lines.push(JSON.parse(text));
			} catch {
				// Not a Moleculer log line (a library writing to the console): not ours to check.
			}
		};
		Object.assign(console, { info: capture, log: capture, warn: capture, error: capture });
		await cluster.start();
	});
	after(async () => {
		await cluster.stop();
		Object.assign(console, saved);
	});

	it("When an order is placed with an X-Request-ID, then its request, both consumers and the final status are logged with its ids", async () => {
		const userId = newUserId();
		const requestId = `trace-${userId}`;
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 10 } });
		const order = await api("POST", "/api/orders", {
			userId,
			body: { amount: 5, description: "followed" },
			headers: { "X-Request-ID": requestId },
		});
		assert.equal(order.status, 202);
		const orderId = order.body.id;
		const nodeOf = (service: string) =>
			cluster.brokers.find(b => b.getLocalService(service))!.nodeID;

		// The HTTP request and the action call, under the client's request id.
		const http = lines.find(
			l => l.msg === "Span finished" && l.requestId === requestId && l.span === "POST /api/orders",
		);
		assert.ok(http, "the gateway's span of the request");
		assert.equal(http.nodeID, nodeOf("api"));
		const create = lines.find(
			l =>
				l.msg === "Span finished" &&
				l.requestId === requestId &&
				l.span === "action 'orders.create'",
		);
		assert.ok(create, "the orders.create span");
		assert.equal(create.orderId, orderId);
		assert.equal(create.traceId, requestId);
		assert.equal(create.parentId, http.spanId);
		assert.equal(create.nodeID, nodeOf("orders"));

		// Then each consumer's commit, by order id, with the message id.
		const paid = await eventually(
			async () =>
				lines.find(
					l => l.msg === "Message handled" && l.orderId === orderId && l.queue === "orders.to_pay",
				),
			"the payments consumer's line",
		);
		assert.equal(paid.nodeID, nodeOf("payments"));
		assert.match(paid.messageId, /^[0-9a-f-]{36}$/);
		const result = await eventually(
			async () =>
				lines.find(
					l =>
						l.msg === "Message handled" && l.orderId === orderId && l.queue === "payment.results",
				),
			"the orders consumer's line",
		);
		assert.equal(result.nodeID, nodeOf("orders"));
		assert.equal(result.result, "PAID");
		assert.notEqual(result.messageId, paid.messageId);
	});
});
