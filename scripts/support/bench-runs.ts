/**
 * The benchmark's runs (scripts/bench.ts): funding every run's users first, then a warm-up, the
 * spread closed loop, the half-rate and low-load open loops and the hot account, each with its
 * CPU and batching figures when the bench runs its own cluster.
 */
import { Args } from "./bench-args";
import { BatchingFigures, batchingFigures, BatchingProbe, batchingTable } from "./bench-batching";
import { Run, runLoad } from "./bench-load";
import { fundUsers } from "./bench-checks";
import { cpuTable, idleLine, table } from "./bench-report";
import { CpuCost, cpuCost, cpuSnapshot, idleCost } from "./cpu-sampler";

/** The low-load run: a fixed rate, long enough that its cost per order is a stable figure. */
export const LOW_RATE = 20;
const LOW_SECONDS = 30;
/** The idle window before the runs: the system's CPU with nothing to do. */
const IDLE_SECONDS = 15;

/** A run, the users it placed orders for, and what each was funded with. */
export interface Planned {
	run: Run;
	users: number[];
	funding: number;
	amount: number;
	/** CPU per accepted order, by component; not measured against --url. */
	cpu?: CpuCost;
	/** Transactions, rounds, batches and messages per accepted order; not measured against --url. */
	batching?: BatchingFigures;
}

const AMOUNT = 100;
const LOW_RUN = `spread accounts, ${LOW_RATE}/s`;

export async function measure(
	args: Args,
	base: string,
	pgTps: number | undefined,
	supervisor?: number,
	probe?: BatchingProbe,
) {
	const planned: Planned[] = [];
	const idBase = Math.floor(Date.now() / 1000) * 1000;
	const perUser = Math.ceil(args.orders / args.users);
	// Funded for ~90 % of each user's orders, so both outcomes happen and refusals are exact.
	const funding = Math.floor(perUser * 0.9) * AMOUNT;
	const spread = (offset: number) =>
		Array.from({ length: args.users }, (_, i) => idBase + offset + i + 1);
	const hotUsers = [idBase + 300_001];
	const hotFunding = Math.floor(args.orders * 0.9) * AMOUNT;
	// Every run funded first: between two runs nothing but the settle of the batching snapshot
	// happens, so one snapshot closes a run's window and opens the next one's.
	console.log("funding the accounts…");
	for (const offset of [0, 100_000, 200_000, 400_000])
		await fundUsers(base, spread(offset), funding);
	await fundUsers(base, hotUsers, hotFunding);
	const idle = supervisor === undefined ? undefined : await idleCost(supervisor, IDLE_SECONDS);
	if (idle) console.log(idleLine(idle, LOW_RATE));
	let last = await probe?.snapshot();
	const place = async (
		name: string,
		users: number[],
		userFunding: number,
		amount: number,
		total: number,
		load: { concurrency: number } | { rate: number },
	) => {
		const before = supervisor === undefined ? undefined : cpuSnapshot(supervisor);
		const run = await runLoad(base, name, users, () => amount, total, load);
		const cpu = before && cpuCost(before, cpuSnapshot(supervisor), run.result.accepted);
		const after = await probe?.snapshot();
		const batching = last && after && batchingFigures(last, after, run.result.accepted);
		last = after;
		planned.push({ run, users, funding: userFunding, amount, cpu, batching });
		console.log(table([run.result]));
		if (cpu) console.log(cpuTable([{ name, cpu }]));
		if (batching) console.log(batchingTable([{ name, batching }]));
		return run.result;
	};

	console.log("warm-up…");
	await place("warm-up", spread(0), funding, 1, Math.min(500, args.orders), {
		concurrency: args.concurrency,
	});
	const closed = await place("spread accounts", spread(100_000), funding, AMOUNT, args.orders, {
		concurrency: args.concurrency,
	});

	const targetRate = pgTps ? Math.max(1, Math.round(0.125 * pgTps)) : undefined;
	const halfMeasured = Math.max(1, Math.round(closed.e2ePerSec / 2));
	const rate = args.rate ?? targetRate ?? halfMeasured;
	const rateBasis =
		args.rate !== undefined
			? "--rate"
			: targetRate !== undefined
				? "0.125 × pgbench tps"
				: "half the measured end-to-end rate";
	const openOrders = Math.max(1, Math.min(args.orders, Math.round(rate * (args.quick ? 5 : 10))));
	console.log(
		`half-rate run at ${rate}/s (${rateBasis}); target half rate ${targetRate === undefined ? "unknown" : `${targetRate}/s`}, half the measured ${halfMeasured}/s`,
	);
	await place("spread accounts, half rate", spread(200_000), funding, AMOUNT, openOrders, { rate });
	await place(LOW_RUN, spread(400_000), funding, AMOUNT, LOW_RATE * LOW_SECONDS, {
		rate: LOW_RATE,
	});

	await place("one hot account", hotUsers, hotFunding, AMOUNT, args.orders, {
		concurrency: args.concurrency,
	});
	return { planned, idle, half: { rate, rateBasis, targetRate, halfMeasured } };
}
