import { execFile, execFileSync } from "child_process";
import { promisify } from "util";
import { TEST_VHOST } from "./env";

/** rabbitmqctl on the local broker (the tests run as the machine's administrator). */
export function rabbitmqctl(...args: string[]): string {
	return execFileSync("rabbitmqctl", ["-q", ...args], { stdio: "pipe", timeout: 60_000 })
		.toString()
		.trim();
}

/** rabbitmqctl without blocking: calls go on while it runs (stop_app takes seconds to return). */
export async function rabbitmqctlInBackground(...args: string[]): Promise<string> {
	const { stdout } = await promisify(execFile)("rabbitmqctl", ["-q", ...args], { timeout: 60_000 });
	return stdout.trim();
}

/** Evaluates an Erlang expression in the broker (for settings rabbitmqctl has no command for). */
export const rabbitEval = (expr: string): string => rabbitmqctl("eval", expr);

/** Open client connections to the test vhost, from the broker's own tracking (not the lagging stats). */
export function connectionsInTestVhost(): number {
	return Number(rabbitEval(`length(rabbit_connection_tracking:list(<<"${TEST_VHOST}">>)).`));
}
