/**
 * Runs one Gozon node: `NODE_ROLE=gateway|orders|payments node dist/scripts/node.js`
 * (or the role as the first argument). An orders or payments node creates and migrates its
 * database first unless RUN_MIGRATIONS=false. Started by the supervisor (npm start), it stops
 * by itself when the supervisor is gone.
 */
import { ConfigError, loadConfig } from "../lib/config";
import { migrateDatabase } from "../lib/db/migrate";
import { ServiceBroker } from "moleculer";
import { stopWhenParentGone } from "../lib/parent-watch";
import { createNode, isRole, roles } from "../services/node";
import { checkNodeVersion, preflight } from "../lib/preflight";

/** How long a node whose supervisor died may take to stop before it exits anyway. */
const ORPHAN_STOP_DEADLINE_MS = 20_000;

async function main() {
	stopWhenParentGone(ORPHAN_STOP_DEADLINE_MS);
	const tooOld = checkNodeVersion();
	if (tooOld) throw new ConfigError(tooOld);
	const config = loadConfig();
	const role = process.argv[2] ?? process.env.NODE_ROLE ?? "";
	if (!isRole(role))
		throw new ConfigError(`NODE_ROLE must be one of ${roles.join(", ")}, got "${role}"`);
	const databases =
		role === "orders"
			? [config.ordersDatabaseUrl]
			: role === "payments"
				? [config.paymentsDatabaseUrl]
				: [];
	const down = await preflight({
		postgres: databases,
		amqp: config.transporterUrl.startsWith("amqp") ? config.transporterUrl : config.amqpUrl,
		redis: config.redisUrl,
	});
	if (down.length) throw new ConfigError(down.join("\n"));
	if (config.runMigrations && (role === "orders" || role === "payments"))
		await migrateDatabase(role, databases[0]);
	const broker = createNode(config, role, process.env.NODE_NAME ?? role);
	broker.logger.info(
		`Starting on Node.js ${process.version}, Moleculer ${ServiceBroker.MOLECULER_VERSION}`,
		{ role, nodeID: broker.nodeID },
	);
	await broker.start();
}

main().catch(err => {
	console.error(
		err instanceof ConfigError ? err.message : `Start-up failed: ${(err as Error).stack ?? err}`,
	);
	process.exit(1);
});
