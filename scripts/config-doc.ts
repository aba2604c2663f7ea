/**
 * Prints the configuration table of the README from lib/config.ts (`npm run config:doc`).
 * A test checks that the README holds exactly this table, so the docs cannot drift.
 */
import { settings } from "../lib/config";

export function configTable(): string {
	const rows = Object.values(settings).map(s => {
		const def = s.default === "" ? "(empty)" : `\`${String(s.default)}\``;
		return `| \`${s.env}\` | ${def} | ${s.doc} |`;
	});
	return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

if (require.main === module) console.log(configTable());
