/**
 * docker-compose.yml, the Dockerfile and the package files, read and parsed the way Docker and
 * npm read them, for compose.test.ts to check against the code (there is no Docker engine here).
 */
import { strict as assert } from "assert";
import { existsSync, readFileSync } from "fs";
import { dirname, join, relative } from "path";
import { parse } from "yaml";
import { projectRoot } from "../../lib/paths";

export interface Healthcheck {
	test: string[] | string;
}
export interface ComposeService {
	image?: string;
	build?: unknown;
	environment?: Record<string, string>;
	ports?: string[];
	volumes?: string[];
	depends_on?: Record<string, { condition?: string }> | string[];
	healthcheck?: Healthcheck;
}
export interface ComposeFile {
	services: Record<string, ComposeService>;
	volumes?: Record<string, unknown>;
}

export const read = (path: string) => readFileSync(join(projectRoot, path), "utf8");

/**
 * Compose's variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (refuses to
 * start when VAR is unset or empty), nested in a default (`${A:-x${B}}`, innermost first) and
 * `$$` for a literal `$`.
 */
export function interpolate(text: string, env: Record<string, string>): string {
	const DOLLAR = "\u0000";
	let out = text.replace(/\$\$/g, DOLLAR);
	for (let before = ""; before !== out;) {
		before = out;
		out = out.replace(
			/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([?-])([^}$]*))?\}/g,
			(all, name, op, arg) => {
				const value = env[name];
				if (value) return value;
				if (op === "?") throw new Error(`compose: ${arg}`);
				return op === "-" ? arg : "";
			},
		);
	}
	return out.replaceAll(DOLLAR, "$");
}

/** What an operator passes in (the environment or a .env file): the stack's secrets. */
export const composeEnv = {
	JWT_SECRET: "s".repeat(32),
	RABBITMQ_USER: "gozon",
	RABBITMQ_PASSWORD: "rabbit-pass-1",
};
export const composeText = read("docker-compose.yml");
/** docker-compose.yml as compose reads it with `env` set. */
export const parseCompose = (env: Record<string, string>) =>
	parse(interpolate(composeText, env), { merge: true }) as ComposeFile;
export const compose = parseCompose(composeEnv);
export const services = compose.services;
export const appServices = Object.entries(services).filter(
	([, s]) => s.environment?.NODE_ROLE !== undefined,
);
export const packageJson = JSON.parse(read("package.json")) as {
	scripts: Record<string, string>;
	dependencies: Record<string, string>;
};
export const buildInclude = (JSON.parse(read("tsconfig.build.json")) as { include: string[] })
	.include;

/** `dist/scripts/node.js` → `scripts/node.ts`, the source tsc compiles it from. */
export function sourceOf(distPath: string): string {
	assert.match(distPath, /^dist\/.+\.js$/, `${distPath} is not a build output`);
	return distPath.replace(/^dist\//, "").replace(/\.js$/, ".ts");
}

export function assertBuiltFile(distPath: string): void {
	const source = sourceOf(distPath);
	assert.ok(
		existsSync(join(projectRoot, source)),
		`${distPath} would come from ${source}, which does not exist`,
	);
	assert.ok(
		buildInclude.some(inc => source === inc || source.startsWith(`${inc}/`)),
		`${source} is not compiled by tsconfig.build.json (include: ${buildInclude.join(", ")})`,
	);
}

/** The command of a healthcheck, as argv (CMD form) or as one shell string (CMD-SHELL form). */
export function healthArgv(h: Healthcheck): string[] {
	if (typeof h.test === "string") return h.test.split(/\s+/);
	const [kind, ...rest] = h.test;
	assert.ok(
		kind === "CMD" || kind === "CMD-SHELL",
		`healthcheck test must start with CMD or CMD-SHELL, got ${kind}`,
	);
	return kind === "CMD" ? rest : rest.join(" ").split(/\s+/);
}

/** Dockerfile instructions with line continuations joined, grouped by stage. */
export function dockerfileStages(): { from: string; name?: string; lines: string[] }[] {
	const lines = read("Dockerfile")
		.replace(/\\\n/g, " ")
		.split("\n")
		.map(l => l.trim())
		.filter(l => l && !l.startsWith("#"));
	const stages: { from: string; name?: string; lines: string[] }[] = [];
	for (const line of lines) {
		const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
		if (from) stages.push({ from: from[1], name: from[2], lines: [] });
		else stages[stages.length - 1].lines.push(line);
	}
	return stages;
}

/** Bare package names imported by a TypeScript file and the local files it imports, transitively. */
export function importedPackages(
	entry: string,
	seen = new Set<string>(),
	out = new Set<string>(),
): Set<string> {
	if (seen.has(entry)) return out;
	seen.add(entry);
	const source = readFileSync(join(projectRoot, entry), "utf8");
	const specifiers = [
		...source.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^;]*?\s+from\s+"([^"]+)"/gm),
		...source.matchAll(/^\s*import\s+()"([^"]+)"/gm),
		...source.matchAll(/\brequire\(()"([^"]+)"\)/g),
		...source.matchAll(/\bimport\(()"([^"]+)"\)/g),
	];
	for (const [, typeOnly, spec] of specifiers) {
		if (typeOnly) continue; // erased by tsc
		if (!spec.startsWith(".")) {
			out.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
			continue;
		}
		const base = join(dirname(entry), spec);
		const file = [`${base}.ts`, join(base, "index.ts")].find(f => existsSync(join(projectRoot, f)));
		assert.ok(file, `${entry} imports ${spec}, which is not a TypeScript file`);
		importedPackages(relative(projectRoot, join(projectRoot, file)), seen, out);
	}
	return out;
}
