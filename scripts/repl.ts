/**
 * `npm run repl`: the Moleculer REPL as a node of the running cluster (same namespace and
 * transporter). Try `nodes`, `services`, `actions`, and
 * `call orders.list --#userId 1` (the `#` sets ctx.meta, where the gateway puts X-User-ID).
 */
import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../moleculer.config";
import { ConfigError, loadConfig } from "../lib/config";

async function main() {
	const config = loadConfig();
	const broker = new ServiceBroker({
		...brokerOptions(config, "repl"),
		logger: { type: "Console", options: { level: "warn" } },
	});
	await broker.start();
	broker.repl();
}

main().catch(err => {
	console.error(err instanceof ConfigError ? err.message : (err as Error).message);
	process.exit(1);
});
