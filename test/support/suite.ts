import { ClusterOptions, TestCluster } from "./cluster";
import { TestDatabases } from "./footprint";
import { apiClient, eventually } from "./http";
import * as shop from "./shop";

export interface SuiteHooks {
	/** Runs after the suite's tests, before the cluster stops (e.g. stopping child processes). */
	beforeStop?: () => unknown;
}

/**
 * The usual set-up of an integration suite: a cluster started before its tests and stopped after
 * them, an API client to it, and the test databases (closed after the cluster stops).
 */
export function clusterSuite(options: ClusterOptions, hooks: SuiteHooks = {}) {
	const cluster = new TestCluster(options);
	const api = apiClient(cluster.apiUrl);
	const db = new TestDatabases();

	before(() => cluster.start());
	after(async () => {
		await hooks.beforeStop?.();
		await cluster.stop();
		await db.close();
	});

	/** A new user with an account topped up by `amount` (none for 0). */
	const fundedUser = (amount: number) => shop.fundedUser(api, amount);

	/** Waits (up to 30 s) until the order is stored with `status`. */
	const orderReaches = (id: string, status: string) =>
		eventually(
			async () => (await db.orderStatus(id)) === status,
			`the order to be ${status}`,
			30_000,
		);

	/** Places an order and waits until it is stored with `status`; returns its id. */
	async function settledOrder(
		userId: number,
		amount: number,
		status = "FINISHED",
	): Promise<string> {
		const body = { amount, description: "test order" };
		const id: string = (await api("POST", "/api/orders", { userId, body })).body.id;
		await orderReaches(id, status);
		return id;
	}

	return { cluster, api, db, fundedUser, orderReaches, settledOrder };
}
