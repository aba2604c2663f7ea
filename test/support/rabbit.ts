import { execFileSync } from "child_process";
import { TEST_VHOST } from "./env";

/** rabbitmqctl on the local broker (the tests run as the machine's administrator). */
export function rabbitmqctl(...args: string[]): string {
	return execFileSync("rabbitmqctl", ["-q", ...args], { stdio: "pipe", timeout: 60_000 })
		.toString()
		.trim();
}

/** Evaluates an Erlang expression in the broker (for settings rabbitmqctl has no command for). */
export const rabbitEval = (expr: string): string => rabbitmqctl("eval", expr);

/** Open client connections to the test vhost, from the broker's own tracking (not the lagging stats). */
export function connectionsInTestVhost(): number {
	return Number(rabbitEval(`length(rabbit_connection_tracking:list(<<"${TEST_VHOST}">>)).`));
}
