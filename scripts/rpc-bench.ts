/**
 * `npm run bench:rpc`: remote calls per second over Moleculer's AMQP transporter, configured as
 * every Gozon node is (moleculer.config.ts), between two processes on this machine. A callee
 * process serves a trivial action; this process calls it with 1 and then 64 concurrent callers.
 *
 * It checks what we measured on this kind of machine (docs/benchmark.md, "RPC alone"): without `noDelay` each request/response waits for a
 * delayed ACK (~40 ms), and a prefetch of 1 serialises a node's requests. It exits 1 when one
 * caller's median call takes 5 ms or more (the Nagle stall is back) or when 64 callers are not
 * at least 2.5 times faster than one (requests serialised: with prefetch 1 it was 1.8×, tuned 4.7×).
 *
 *   npm run bench:rpc -- [--seconds 10] [--stock | --prefetch N]
 *     --stock: Moleculer's transporter with its defaults; --prefetch: ours with another prefetch
 */
import { ChildProcess, spawn } from "child_process";
import { ServiceBroker } from "moleculer";
import { RpcTransporter } from "../lib/amqp-transporter";
import { loadConfig } from "../lib/config";
import { brokerOptions } from "../moleculer.config";
import { sh, sleep } from "./support/harness";

const VHOST = "gozon_rpcbench";
const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 10;
const stock = process.argv.includes("--stock");
const prefetch = process.argv.includes("--prefetch")
	? Number(process.argv[process.argv.indexOf("--prefetch") + 1])
	: undefined;

function options(role: string) {
	const config = {
		...loadConfig(),
		namespace: "gozon-rpcbench",
		transporterUrl: `amqp://guest:guest@127.0.0.1:5672/${VHOST}`,
	};
	const opts = brokerOptions(config, role);
	return {
		...opts,
		transporter: stock
			? config.transporterUrl
			: prefetch
				? new RpcTransporter({
						url: config.transporterUrl,
						socketOptions: { noDelay: true },
						prefetch,
					})
				: opts.transporter,
		cacher: undefined,
		metrics: { enabled: false },
		logger: { type: "Console", options: { level: "warn" } },
	} as ConstructorParameters<typeof ServiceBroker>[0];
}

async function callee(): Promise<void> {
	const broker = new ServiceBroker(options("rpc-callee"));
	broker.createService({ name: "echo", actions: { ping: { handler: ctx => ctx.params } } });
	await broker.start();
	process.send?.("ready");
	// Gone with its caller, whatever happens to it: stop gracefully, or give up after 3 s.
	const stop = () => {
		setTimeout(() => process.exit(0), 3000).unref();
		void broker.stop().then(() => process.exit(0));
	};
	process.on("SIGTERM", stop);
	process.on("disconnect", stop);
}

async function measure(
	broker: ServiceBroker,
	callers: number,
): Promise<{ perSecond: number; medianMs: number }> {
	const latencies: number[] = [];
	const end = Date.now() + seconds * 1000;
	await Promise.all(
		Array.from({ length: callers }, async () => {
			while (Date.now() < end) {
				const t = process.hrtime.bigint();
				await broker.call("echo.ping", { n: 1 });
				latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
			}
		}),
	);
	latencies.sort((a, b) => a - b);
	return {
		perSecond: latencies.length / seconds,
		medianMs: latencies[Math.floor(latencies.length / 2)] ?? Infinity,
	};
}

async function main(): Promise<number> {
	try {
		sh("rabbitmqctl", ["-q", "delete_vhost", VHOST]);
	} catch {
		// absent
	}
	sh("rabbitmqctl", ["-q", "add_vhost", VHOST]);
	sh("rabbitmqctl", ["-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"]);

	let child: ChildProcess | undefined;
	const broker = new ServiceBroker(options("rpc-caller"));
	try {
		child = spawn(
			process.execPath,
			[...process.execArgv, __filename, "--callee", ...process.argv.slice(2)],
			{ stdio: ["ignore", "inherit", "inherit", "ipc"] },
		);
		await new Promise<void>((resolve, reject) => {
			child!.once("message", () => resolve());
			child!.once("exit", code => reject(new Error(`the callee exited with ${code}`)));
		});
		await broker.start();
		await broker.waitForServices("echo", 20_000);
		await measure(broker, 8); // warm-up
		await sleep(500);
		const one = await measure(broker, 1);
		const many = await measure(broker, 64);
		const transporter = stock
			? "stock AMQP transporter (defaults)"
			: `Gozon's AMQP transporter (noDelay, prefetch ${prefetch ?? 128})`;
		console.log(
			`Moleculer ${ServiceBroker.MOLECULER_VERSION}, Node ${process.version}, ${transporter}, ${seconds} s per run`,
		);
		console.log(
			`  1 caller:   ${one.perSecond.toFixed(0)} calls/s, median ${one.medianMs.toFixed(2)} ms`,
		);
		console.log(
			`  64 callers: ${many.perSecond.toFixed(0)} calls/s, median ${many.medianMs.toFixed(2)} ms`,
		);
		const failures: string[] = [];
		if (one.medianMs >= 5)
			failures.push(
				`one caller's median call took ${one.medianMs.toFixed(1)} ms (≥ 5 ms: the delayed-ACK stall)`,
			);
		if (many.perSecond < 2.5 * one.perSecond)
			failures.push(
				`64 callers are ${(many.perSecond / one.perSecond).toFixed(1)}× one caller (< 2.5×): requests are serialised`,
			);
		for (const f of failures) console.log(`FAILED: ${f}`);
		return failures.length ? 1 : 0;
	} finally {
		await broker.stop().catch(() => undefined);
		child?.kill("SIGTERM");
		try {
			sh("rabbitmqctl", ["-q", "delete_vhost", VHOST]);
		} catch {
			// the broker may be gone
		}
	}
}

if (process.argv.includes("--callee")) void callee();
else
	main().then(
		code => process.exit(code),
		err => {
			console.error((err as Error).message);
			process.exit(1);
		},
	);
