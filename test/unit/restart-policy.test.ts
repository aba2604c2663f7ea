import { strict as assert } from "assert";
import { nextRestart, RESTART } from "../../scripts/support/restart-policy";

describe("The supervisor's restart backoff", () => {
	it("When a node keeps dying quickly, then each restart waits a second longer, up to the cap", () => {
		let restarts = 0;
		const delays: number[] = [];
		for (let i = 0; i < 12; i++) {
			const next = nextRestart(restarts, 2_000);
			restarts = next.restarts;
			delays.push(next.delayMs);
		}
		assert.deepEqual(
			delays,
			[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10].map(s => s * 1000),
		);
	});

	it("When a node ran a healthy minute before dying, then its backoff starts over", () => {
		const afterLoop = nextRestart(9, RESTART.healthyMs - 1);
		const afterHealthyRun = nextRestart(9, RESTART.healthyMs);

		assert.deepEqual(afterLoop, { restarts: 10, delayMs: 10_000 });
		assert.deepEqual(afterHealthyRun, { restarts: 1, delayMs: 1_000 });
	});
});
