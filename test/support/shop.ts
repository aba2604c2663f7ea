import { strict as assert } from "assert";
import { type apiClient, eventually, newUserId } from "./http";

/** A test file's client of the public HTTP API (see apiClient). */
export type Api = ReturnType<typeof apiClient>;

/** Through the API: a new user with an account topped up by `amount` (none for 0). */
export async function fundedUser(api: Api, amount: number): Promise<number> {
	const userId = newUserId();
	assert.equal((await api("POST", "/api/accounts", { userId })).status, 201);
	if (amount) {
		const topUp = await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount } });
		assert.equal(topUp.status, 200);
	}
	return userId;
}

/** Through the API: waits until the user reads the order with `status`. */
export const untilOrderReads = (api: Api, userId: number, id: string, status: string) =>
	eventually(
		async () => (await api("GET", `/api/orders/${id}`, { userId })).body.status === status,
		`order ${id} to read ${status}`,
	);
