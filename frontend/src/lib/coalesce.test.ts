import { describe, expect, it } from "vitest";
import { coalesce } from "./coalesce";

function deferredTask() {
	const releases: (() => void)[] = [];
	let runs = 0;
	const task = () => {
		runs++;
		return new Promise<void>(resolve => releases.push(resolve));
	};
	return { task, releases, runs: () => runs };
}

describe("coalesce", () => {
	it("When called during a run, then exactly one more run follows it", async () => {
		const { task, releases, runs } = deferredTask();
		const reload = coalesce(task);

		const first = reload();
		const second = reload();
		const third = reload();
		expect(runs()).toBe(1);
		expect(second).toBe(third);

		releases[0]?.();
		await first;
		await Promise.resolve();
		expect(runs()).toBe(2);
		releases[1]?.();
		await second;

		reload();
		expect(runs()).toBe(3);
	});
});
