/**
 * There is no Docker engine where the tests run, so docker-compose.yml and the Dockerfile are
 * checked against the code instead of run: every variable, port, role, path, script and
 * package they rely on must be one the code has.
 */
import { strict as assert } from "assert";
import { existsSync, readdirSync } from "fs";
import { builtinModules } from "module";
import { join } from "path";
import { amqpClusterSize, loadConfig, settings, splitUrls } from "../../lib/config";
import { isRole } from "../../services/node";
import { projectRoot } from "../../lib/paths";
import {
	appServices,
	assertBuiltFile,
	buildInclude,
	compose,
	composeEnv,
	type ComposeService,
	composeText,
	dockerfileStages,
	healthArgv,
	importedPackages,
	interpolate,
	packageJson,
	parseCompose,
	read,
	services,
} from "../support/deploy-files";

/** Environment variables read outside lib/config.ts, by the scripts the containers run. */
const scriptEnv: Record<string, string[]> = {
	NODE_ROLE: ["scripts/node.ts", "scripts/healthcheck.ts"],
};
const configEnv = new Map(Object.entries(settings).map(([key, s]) => [s.env, key]));
/**
 * Identity settings issue11-jwt adds to lib/config.ts (AUTH_MODE, AUTH_DEV_TOKENS, JWT_SECRET).
 * Until that branch is merged this branch's config does not know them: drop this list then.
 */
const settingsOfJwtBranch = new Set(
	["AUTH_MODE", "AUTH_DEV_TOKENS", "JWT_SECRET"].filter(env => !configEnv.has(env)),
);

describe("docker-compose.yml and Dockerfile (checked, not run: no Docker engine here)", () => {
	it("When the stack is read, then it has PostgreSQL 15, RabbitMQ 3 with its console, Redis 7, a gateway, two orders nodes and a payments node", () => {
		assert.equal(services.postgres?.image, "postgres:15");
		assert.match(services.rabbitmq?.image ?? "", /^rabbitmq:3(\.\d+)*-management$/);
		assert.ok(
			services.rabbitmq.ports?.includes("127.0.0.1:15672:15672"),
			"RabbitMQ console on :15672 of this machine only",
		);
		assert.match(services.redis?.image ?? "", /^redis:7(\.\d+)*$/);

		const roles = appServices.map(([, s]) => s.environment!.NODE_ROLE).sort();
		assert.deepEqual(roles, ["gateway", "orders", "orders", "payments"]);
		for (const [name, s] of appServices) {
			assert.ok(
				isRole(s.environment!.NODE_ROLE),
				`${name}: NODE_ROLE ${s.environment!.NODE_ROLE} is not a role of services/node.ts`,
			);
			assert.ok(s.build, `${name} builds the image from the Dockerfile`);
		}
	});

	it("When an app service sets a variable, then it is one lib/config.ts reads (or a script does) and its value passes config validation", () => {
		for (const [name, s] of appServices) {
			for (const key of Object.keys(s.environment!)) {
				if (configEnv.has(key) || settingsOfJwtBranch.has(key)) continue;
				const readers = scriptEnv[key];
				assert.ok(
					readers,
					`${name}: ${key} is read neither by lib/config.ts settings nor by a script`,
				);
				for (const file of readers)
					assert.match(read(file), new RegExp(`process\\.env\\.${key}\\b`), `${file} reads ${key}`);
			}
			assert.doesNotThrow(
				() => loadConfig(s.environment),
				`${name}: its environment fails config validation`,
			);
		}
	});

	it("When the stack starts, then it verifies identity (jwt, dev tokens on) with a secret and broker credentials that come from the environment, never from the file", () => {
		for (const [name, s] of appServices) {
			assert.equal(s.environment!.AUTH_MODE, "jwt", name);
			assert.equal(s.environment!.AUTH_DEV_TOKENS, "true", name);
			assert.equal(
				s.environment!.JWT_SECRET,
				composeEnv.JWT_SECRET,
				`${name}: JWT_SECRET from the environment`,
			);
			const amqp = new URL(loadConfig(s.environment).amqpUrl);
			assert.deepEqual(
				[amqp.username, amqp.password],
				[composeEnv.RABBITMQ_USER, composeEnv.RABBITMQ_PASSWORD],
				name,
			);
		}
		assert.equal(services.rabbitmq.environment?.RABBITMQ_DEFAULT_USER, composeEnv.RABBITMQ_USER);
		assert.equal(
			services.rabbitmq.environment?.RABBITMQ_DEFAULT_PASS,
			composeEnv.RABBITMQ_PASSWORD,
		);
		assert.doesNotMatch(composeText, /guest/, "no guest/guest account");
		// Each secret is required: compose refuses to start without it, rather than use a default.
		for (const missing of Object.keys(composeEnv)) {
			const env: Record<string, string> = { ...composeEnv };
			delete env[missing];
			assert.throws(
				() => interpolate(composeText, env),
				new RegExp(`set ${missing}`),
				`without ${missing}`,
			);
		}
	});

	it("When the cluster profile is on and AMQP_URL lists its nodes, then every app node gets the three, the nodes find each other by name with one cookie, and without the profile nothing changes", () => {
		const cluster = ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3"];
		for (const name of cluster) {
			const s = services[name] as ComposeService & { profiles?: string[]; hostname?: string };
			assert.deepEqual(s.profiles, ["cluster"], `${name} starts only with --profile cluster`);
			assert.equal(s.hostname, name, `${name}: its node name is rabbit@${name}`);
			assert.equal(
				s.image,
				services.rabbitmq.image,
				`${name}: the same RabbitMQ as the single broker`,
			);
			assert.ok(
				s.volumes?.includes(
					"./docker/rabbitmq-cluster.conf:/etc/rabbitmq/conf.d/20-cluster.conf:ro",
				),
				name,
			);
			assert.ok(
				!s.environment?.RABBITMQ_ERLANG_COOKIE,
				`${name}: the cookie comes from the environment`,
			);
		}
		const conf = read("docker/rabbitmq-cluster.conf");
		assert.match(conf, /^cluster_formation\.peer_discovery_backend = classic_config$/m);
		for (const [i, name] of cluster.entries())
			assert.match(
				conf,
				new RegExp(`^cluster_formation\\.classic_config\\.nodes\\.${i + 1} = rabbit@${name}$`, "m"),
			);

		const U = `amqp://${composeEnv.RABBITMQ_USER}:${composeEnv.RABBITMQ_PASSWORD}`;
		const list = cluster.map(n => `${U}@${n}:5672`).join(",");
		const env = { ...composeEnv, AMQP_URL: list, RABBITMQ_ERLANG_COOKIE: "c".repeat(20) };
		const withCluster = parseCompose(env).services;
		for (const [name] of appServices) {
			const config = loadConfig(withCluster[name].environment);
			assert.deepEqual(
				splitUrls(config.amqpUrl).map(u => new URL(u).hostname),
				cluster,
				name,
			);
			assert.equal(amqpClusterSize(config), 3, `${name}: queues created with 3 replicas`);
		}
		for (const name of cluster)
			assert.equal(
				withCluster[name].environment?.RABBITMQ_ERLANG_COOKIE,
				env.RABBITMQ_ERLANG_COOKIE,
				name,
			);
		for (const [name, s] of appServices)
			assert.equal(amqpClusterSize(loadConfig(s.environment)), 1, name);
	});

	it("When a service other than the gateway publishes a port, then on 127.0.0.1 only", () => {
		const published = Object.entries(services).filter(
			([, s]) => s.environment?.NODE_ROLE !== "gateway" && s.ports?.length,
		);
		assert.deepEqual(published.map(([name]) => name).sort(), [
			"postgres",
			"rabbitmq",
			"rabbitmq-1",
			"rabbitmq-2",
			"rabbitmq-3",
			"redis",
		]);
		for (const [name, s] of published)
			for (const port of s.ports!)
				assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port}`);
	});

	it("When an app service names PostgreSQL, RabbitMQ or Redis, then it is by a service of this file, and the init script creates both databases", () => {
		const init = read("docker/postgres-init.sql");
		for (const [name, s] of appServices) {
			const config = loadConfig(s.environment);
			for (const [url, service] of [
				[config.ordersDatabaseUrl, "postgres"],
				[config.paymentsDatabaseUrl, "postgres"],
				[config.amqpUrl, "rabbitmq"],
				[config.redisUrl, "redis"],
			])
				assert.equal(
					new URL(url).hostname,
					service,
					`${name}: ${url} should point at the ${service} service`,
				);
			for (const url of [config.ordersDatabaseUrl, config.paymentsDatabaseUrl]) {
				const db = new URL(url).pathname.slice(1);
				assert.match(
					init,
					new RegExp(`CREATE DATABASE "?${db}"?;`),
					`docker/postgres-init.sql creates ${db}`,
				);
			}
			assert.ok(
				services.postgres.volumes?.some(v =>
					v.startsWith("./docker/postgres-init.sql:/docker-entrypoint-initdb.d/"),
				),
			);
		}
	});

	it("When the gateway publishes ports, then they are the API and dashboard ports the config defaults to and the node listens on", () => {
		const [, gateway] = appServices.find(([, s]) => s.environment!.NODE_ROLE === "gateway")!;
		const config = loadConfig(gateway.environment);

		assert.equal(config.apiPort, settings.apiPort.default);
		assert.equal(config.uiPort, settings.uiPort.default);
		assert.equal(config.serveUi, true, "the gateway serves the built dashboard");
		assert.deepEqual(gateway.ports, [
			`${config.apiPort}:${config.apiPort}`,
			`${config.uiPort}:${config.uiPort}`,
		]);
		const expose = dockerfileStages()
			.at(-1)!
			.lines.find(l => l.startsWith("EXPOSE"));
		assert.deepEqual(
			expose?.split(/\s+/).slice(1).map(Number).sort(),
			[config.apiPort, config.uiPort].sort(),
		);
	});

	it("When a service depends on another, then it waits for it to be healthy, and every service has a healthcheck", () => {
		for (const [name, s] of Object.entries(services)) {
			assert.ok(s.healthcheck?.test, `${name} has a healthcheck`);
			if (!s.depends_on) continue;
			assert.ok(!Array.isArray(s.depends_on), `${name}: depends_on must name a condition`);
			for (const [dep, cond] of Object.entries(s.depends_on)) {
				assert.ok(services[dep], `${name} depends on ${dep}, which is not a service`);
				assert.equal(cond.condition, "service_healthy", `${name} → ${dep}`);
			}
		}
		for (const [name, s] of appServices)
			for (const dep of s.environment!.NODE_ROLE === "gateway"
				? ["rabbitmq", "redis"]
				: ["postgres", "rabbitmq", "redis"])
				assert.ok(dep in (s.depends_on as object), `${name} waits for ${dep}`);
	});

	it("When an app healthcheck runs a file, then the build produces it from a source that exists, and the gateway serves the path it asks", () => {
		for (const [name, s] of appServices) {
			const argv = healthArgv(s.healthcheck!);
			assert.equal(argv[0], "node", `${name}: healthcheck runs node`);
			assertBuiltFile(argv[1]);
		}
		const healthcheck = read("scripts/healthcheck.ts");
		const path = /127\.0\.0\.1:\$\{port\}(\/[^`"]+)/.exec(healthcheck)?.[1];
		assert.equal(path, "/health/live");
		const gatewaySources = readdirSync(join(projectRoot, "services/api"))
			.filter(f => f.endsWith(".ts"))
			.map(f => read(join("services/api", f)))
			.join("\n");
		assert.match(
			gatewaySources,
			new RegExp(`"(GET )?${path}"`),
			`the gateway (services/api) serves ${path}`,
		);
	});

	it("When data is stored, then it is on a declared named volume at the image's data directory", () => {
		const dataDirs = {
			postgres: "/var/lib/postgresql/data",
			rabbitmq: "/var/lib/rabbitmq",
			redis: "/data",
		};
		for (const [name, dir] of Object.entries(dataDirs)) {
			const mount = services[name].volumes?.find(v => v.split(":")[1] === dir);
			assert.ok(mount, `${name} keeps ${dir} on a volume`);
			assert.ok(
				compose.volumes && mount.split(":")[0] in compose.volumes,
				`volume ${mount.split(":")[0]} is declared`,
			);
		}
		for (const [name, s] of Object.entries(services))
			for (const v of s.volumes ?? []) {
				const source = v.split(":")[0];
				if (source.startsWith(".") || source.startsWith("/"))
					assert.ok(
						existsSync(join(projectRoot, source)),
						`${name} mounts ${source}, which does not exist`,
					);
				else
					assert.ok(
						compose.volumes && source in compose.volumes,
						`${name}: volume ${source} is declared`,
					);
			}
		assert.ok(
			/--appendonly\s*"?,?\s*"?yes/.test(JSON.stringify(services.redis)),
			"Redis writes its data to disk",
		);
	});

	it("When the Dockerfile builds, then its npm scripts exist, it copies every compiled folder, and its runtime is small and unprivileged", () => {
		const stages = dockerfileStages();
		const [build, runtime] = [stages[0], stages.at(-1)!];
		assert.ok(stages.length >= 2, "multi-stage");
		for (const stage of [build, runtime])
			assert.match(stage.from, /^node:24-slim\b/, "a node:24 Debian slim image");

		for (const line of stages.flatMap(s => s.lines))
			for (const [, script] of line.matchAll(/npm run ([\w:-]+)/g))
				assert.ok(packageJson.scripts[script], `npm run ${script} is not a package.json script`);
		assert.ok(
			build.lines.some(l => /^RUN npm ci\b/.test(l)),
			"the build installs with npm ci",
		);
		assert.ok(build.lines.some(l => l === "RUN npm run build"));

		const copied = build.lines
			.filter(l => l.startsWith("COPY") && !l.includes("--from"))
			.flatMap(l => l.split(/\s+/).slice(1, -1));
		for (const src of copied)
			assert.ok(existsSync(join(projectRoot, src)), `COPY ${src}: no such file`);
		for (const inc of [...buildInclude, "frontend", "package-lock.json"])
			assert.ok(copied.includes(inc), `the build stage copies ${inc}`);

		assert.ok(
			runtime.lines.some(l => /^RUN npm ci --omit=dev\b/.test(l)),
			"production dependencies only",
		);
		for (const out of ["/app/dist", "/app/frontend/dist"])
			assert.ok(
				runtime.lines.some(l => l.startsWith(`COPY --from=${build.name}`) && l.includes(out)),
				`runtime copies ${out}`,
			);
		const user = runtime.lines.filter(l => l.startsWith("USER")).at(-1);
		assert.ok(user && !/\broot\b|\b0\b/.test(user), "runs as a non-root user");

		const cmd = runtime.lines.find(l => l.startsWith("CMD"))!;
		assert.deepEqual(JSON.parse(cmd.slice(3)), ["node", "dist/scripts/node.js"]);
		assertBuiltFile("dist/scripts/node.js");
		const health = runtime.lines.find(l => l.startsWith("HEALTHCHECK"));
		if (health) assertBuiltFile(JSON.parse(health.slice(health.indexOf("CMD") + 3))[1]);

		const ignored = read(".dockerignore")
			.split("\n")
			.map(l => l.trim())
			.filter(l => l && !l.startsWith("#"));
		for (const must of ["node_modules", "dist", ".git"])
			assert.ok(ignored.includes(must), `.dockerignore leaves out ${must}`);
		for (const src of copied)
			assert.ok(!ignored.includes(src), `.dockerignore leaves out ${src}, which the build copies`);
	});

	it("When the container runs a node, its healthcheck or the DLQ tool, then every package they import is a production dependency", () => {
		const builtins = new Set(builtinModules.flatMap(m => [m, `node:${m}`]));
		for (const entry of ["scripts/node.ts", "scripts/healthcheck.ts", "scripts/dlq.ts"]) {
			const missing = [...importedPackages(entry)].filter(
				p => !builtins.has(p) && !packageJson.dependencies[p],
			);
			assert.deepEqual(
				missing,
				[],
				`${entry} needs devDependencies that npm ci --omit=dev leaves out`,
			);
		}
	});
});
