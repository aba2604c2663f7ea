/**
 * Compiles the server into dist/ (tsconfig.build.json) and removes what the compiler did not
 * write this time: the output of a source that was deleted or moved. Without this, a dist/ built
 * before a split keeps the old module (dist/services/api/openapi.js beside openapi/index.js),
 * and whatever resolves to it runs code that no longer exists in the tree.
 *
 *   npm run build:server        (also run by npm start, npm run build, the chaos suite and the bench)
 *
 * Stale files are removed one by one, never the whole of dist/: a system already running from
 * dist/ keeps every module it may still load.
 */
import { spawnSync } from "child_process";
import { existsSync, readdirSync, rmSync, statSync } from "fs";
import { join, resolve } from "path";
import { projectRoot } from "../lib/paths";

const DIST = join(projectRoot, "dist");

function filesUnder(dir: string): string[] {
	if (!existsSync(dir)) return [];
	return readdirSync(dir).flatMap(name => {
		const path = join(dir, name);
		return statSync(path).isDirectory() ? filesUnder(path) : [path];
	});
}

/** Runs tsc; resolves with the paths of the files it wrote (absolute). */
function compile(): Set<string> {
	const tsc = join(projectRoot, "node_modules", "typescript", "bin", "tsc");
	const run = spawnSync(
		process.execPath,
		[tsc, "-p", join(projectRoot, "tsconfig.build.json"), "--listEmittedFiles"],
		{ cwd: projectRoot, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
	);
	const out = run.stdout ?? "";
	if (run.status !== 0) {
		// tsc prints its diagnostics on stdout.
		process.stdout.write(out.replace(/^TSFILE: .*\n/gm, ""));
		throw new Error(`tsc failed (exit ${run.status ?? run.signal})`);
	}
	const emitted = out
		.split("\n")
		.filter(line => line.startsWith("TSFILE: "))
		.map(line => resolve(projectRoot, line.slice("TSFILE: ".length).trim()));
	return new Set(emitted);
}

/** Builds dist/ and prunes it; returns the stale files it removed (relative to dist/). */
export function buildServer(): string[] {
	const emitted = compile();
	if (!emitted.size) throw new Error("tsc wrote no file: refusing to prune dist/");
	const stale = filesUnder(DIST).filter(path => !emitted.has(path));
	for (const path of stale) rmSync(path);
	return stale.map(path => path.slice(DIST.length + 1));
}

if (require.main === module) {
	try {
		const removed = buildServer();
		if (removed.length)
			console.log(
				`build: removed ${removed.length} stale file(s) from dist/: ${removed.join(", ")}`,
			);
	} catch (err) {
		console.error(`build: ${(err as Error).message}`);
		process.exit(1);
	}
}
