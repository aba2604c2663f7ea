/**
 * The faults, each with its own restore step. `inject` returns when the restore step has
 * returned (the process relaunched, the broker app or Redis started, the proxy listening);
 * every command is spawned asynchronously, so the load keeps its rate throughout. The long
 * ones (a minute's outage) run only in the full form; see `chosenFaults`.
 */
import { run, sleep } from "../support/harness";
import { ensureServices, exited, kill9, launch, nodeNamed, proxy } from "./cluster";
import {
	closeConsumerChannel,
	memoryAlarm,
	restartPostgres,
	stopBroker,
	stopRedis,
} from "./long-faults";
import { killSupervisor } from "./supervisor";
import { Load } from "./load";

/** What a fault may look at after its window: the load, and the marks its inject set. */
export interface FaultContext {
	load: Load;
	/** When the outage proper began and ended (the service stopped, then started again). */
	outage?: { from: number; to: number };
	/** The full form's durations, or the CI form's shorter ones. */
	short: boolean;
	/** What the fault measured of itself, printed with its line. */
	note?: string;
}

export interface Fault {
	name: string;
	/** Only in the full form (the CI form leaves it out to keep its time). */
	long?: boolean;
	inject(ctx: FaultContext): Promise<void>;
	/** Problems found in the fault's own terms (`window`: its from/to), beside the common checks. */
	check?(ctx: FaultContext, window: { from: number; to: number }): string[];
}

export const faults: Fault[] = [
	{
		name: "kill -9 payments",
		async inject() {
			await kill9(nodeNamed("payments"));
			await sleep(2000);
			launch(nodeNamed("payments"));
		},
	},
	{
		name: "kill -9 an orders node",
		async inject() {
			await kill9(nodeNamed("orders-2"));
			await sleep(2000);
			launch(nodeNamed("orders-2"));
		},
	},
	{
		name: "kill -9 a relay between publish and mark-sent",
		async inject() {
			await kill9(nodeNamed("orders-2"));
			// This node kills itself right after its first relay round has published.
			const doomed = launch(nodeNamed("orders-2"), {
				GOZON_FAULTS: "relay.after-publish-before-mark-sent",
			});
			await Promise.race([exited(doomed), sleep(30_000)]);
			const reached = doomed.exitCode !== null || doomed.signalCode !== null;
			if (!reached) doomed.kill("SIGKILL");
			launch(nodeNamed("orders-2"));
			if (!reached) throw new Error("the relay fault point was never reached");
		},
	},
	{
		name: "restart RabbitMQ",
		async inject() {
			await run("rabbitmqctl", ["-q", "stop_app"], 60_000);
			await sleep(3000);
			await run("rabbitmqctl", ["-q", "start_app"], 120_000);
		},
	},
	{
		name: "restart Redis",
		async inject() {
			// The connection drops as it shuts down, so the command "fails" when it works.
			await run("redis-cli", ["-h", "127.0.0.1", "shutdown", "nosave"], 5000).catch(
				() => undefined,
			);
			await sleep(2000);
			await ensureServices();
		},
	},
	{
		name: "cut the broker connection (TCP proxy)",
		async inject() {
			await proxy.cut();
			await sleep(5000);
			await proxy.restore();
		},
	},
	restartPostgres,
	closeConsumerChannel,
	memoryAlarm,
	stopRedis,
	stopBroker,
	// Last: its failure (an orphan node) ends the suite, as every failed restore step does.
	killSupervisor,
];

/**
 * The faults whose names contain one of the comma-separated words of `--faults`, or all of
 * them (with `--short`, all but the long ones; a `--faults` filter may still name a long one).
 * Throws when the filter is empty or matches nothing: a run that injects no fault must not pass.
 */
export function chosenFaults(argv: string[]): Fault[] {
	const at = argv.indexOf("--faults");
	if (at < 0) return argv.includes("--short") ? faults.filter(f => !f.long) : faults;
	const words = (argv[at + 1] ?? "")
		.split(",")
		.map(w => w.trim())
		.filter(w => w && !w.startsWith("--"));
	const chosen = faults.filter(f => words.some(w => f.name.includes(w)));
	if (!chosen.length)
		throw new Error(
			`--faults "${argv[at + 1] ?? ""}" matches no fault; the faults are: ${faults.map(f => f.name).join(" · ")}`,
		);
	return chosen;
}
