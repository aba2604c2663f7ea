import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { join } from "path";
import { projectRoot } from "../../lib/paths";

/** Starts a node the way `npm start` and the containers do, with one setting overridden. */
function startNode(role: string, env: Record<string, string>) {
	const run = spawnSync(
		process.execPath,
		["--import", "tsx", join(projectRoot, "scripts", "node.ts"), role],
		{
			env: { ...process.env, ...env },
			encoding: "utf8",
			timeout: 30_000,
		},
	);
	return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

describe("Start-up with a bad setting", () => {
	const cases: [string, Record<string, string>, string, RegExp][] = [
		[
			"orders",
			{ MAX_DELIVERIES: "five" },
			"MAX_DELIVERIES",
			/^MAX_DELIVERIES must be an integer from \d+ to \d+, got "five"$/,
		],
		[
			"payments",
			{ AMQP_URL: "rabbit://localhost" },
			"AMQP_URL",
			/^AMQP_URL must start with amqp: or amqps:\/\/, got "rabbit:\/\/localhost"$/,
		],
		[
			"gateway",
			{ API_PORT: "80a" },
			"API_PORT",
			/^API_PORT must be an integer from \d+ to \d+, got "80a"$/,
		],
		[
			"gateway",
			{ LOG_FORMAT: "xml" },
			"LOG_FORMAT",
			/^LOG_FORMAT must be short or json, got "xml"$/,
		],
		["payments", { TRACING: "maybe" }, "TRACING", /^TRACING must be true or false, got "maybe"$/],
	];

	for (const [role, env, variable, line] of cases)
		it(`When a ${role} node starts with a bad ${variable}, then it exits 1 with one line naming ${variable}`, function () {
			this.timeout(30_000);
			const run = startNode(role, env);

			assert.equal(run.status, 1, run.stderr);
			const lines = run.stderr.split("\n").filter(l => l.trim());
			assert.equal(lines.length, 1, `one line, got:\n${run.stderr}`);
			assert.match(lines[0], line);
			assert.equal(run.stdout.trim(), "", "nothing started, nothing logged");
		});
});
