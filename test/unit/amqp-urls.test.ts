import { strict as assert } from "assert";
import { amqpClusterSize, ConfigError, loadConfig, redactUrl, splitUrls } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";

const node = (port: number) => `amqp://gozon:secret@10.0.0.${port - 5670}:${port}/shop`;
const three = [node(5681), node(5682), node(5683)];

describe("AMQP_URL and TRANSPORTER as lists of URLs", () => {
	it("When AMQP_URL lists URLs separated by commas (blanks around them allowed), then the config keeps each of them in order", () => {
		const config = loadConfig({ AMQP_URL: ` ${three[0]} ,${three[1]},, ${three[2]}` });
		assert.deepEqual(splitUrls(config.amqpUrl), three);
		assert.equal(amqpClusterSize(config), 3);
	});

	it("When a single URL is given, then it is a list of one and no cluster", () => {
		const config = loadConfig({ AMQP_URL: three[0] });
		assert.deepEqual(splitUrls(config.amqpUrl), [three[0]]);
		assert.equal(amqpClusterSize(config), 1);
	});

	it("When Moleculer's own separator (;) is used, then the list is read the same", () => {
		assert.deepEqual(splitUrls(three.join(";")), three);
	});

	it("When one URL of the list is not an AMQP URL, then start-up stops naming the variable and that URL", () => {
		assert.throws(
			() => loadConfig({ AMQP_URL: `${three[0]},redis://10.0.0.2:6379` }),
			(err: Error) =>
				err instanceof ConfigError &&
				err.message === 'AMQP_URL must start with amqp: or amqps://, got "redis://10.0.0.2:6379"',
		);
		assert.throws(
			() => loadConfig({ AMQP_URL: " , " }),
			/^Error: AMQP_URL must list at least one URL, got " , "$/,
		);
	});

	it("When TRANSPORTER is empty, then it is the same list; set to AMQP URLs, it is checked like AMQP_URL", () => {
		assert.equal(loadConfig({ AMQP_URL: three.join(",") }).transporterUrl, three.join(","));
		assert.equal(
			loadConfig({ TRANSPORTER: `${three[1]} ; ${three[2]}` }).transporterUrl,
			`${three[1]},${three[2]}`,
		);
		assert.throws(
			() => loadConfig({ TRANSPORTER: `${three[0]},amqp//oops` }),
			/TRANSPORTER must be a URL/,
		);
		assert.equal(
			loadConfig({ TRANSPORTER: "nats://10.0.0.9:4222" }).transporterUrl,
			"nats://10.0.0.9:4222",
		);
	});

	it("When one URL leads to a cluster (a load balancer), then AMQP_CLUSTER_SIZE says how many nodes it has", () => {
		assert.equal(amqpClusterSize(loadConfig({ AMQP_URL: three[0], AMQP_CLUSTER_SIZE: "3" })), 3);
	});

	it("When a list is logged, then every password is hidden", () => {
		assert.equal(
			redactUrl(three.join(",")),
			three.map(u => u.replace(":secret@", ":***@")).join(","),
		);
	});

	it("When the RPC runs on a cluster, then Moleculer's transporter gets every URL and transient queues; on one broker, durable ones as before", () => {
		const opts = (env: NodeJS.ProcessEnv) =>
			(
				brokerOptions(loadConfig(env), "test").transporter as unknown as {
					opts: { url: string[]; queueOptions: object };
				}
			).opts;
		const cluster = opts({ AMQP_URL: three.join(",") });
		assert.deepEqual(cluster.url, three);
		assert.deepEqual(cluster.queueOptions, { durable: false });
		const single = opts({ AMQP_URL: three[0] });
		assert.deepEqual(single.url, [three[0]]);
		assert.deepEqual(single.queueOptions, {});
	});
});
