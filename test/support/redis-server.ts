import { execFileSync } from "child_process";

/** Whether the machine's Redis (127.0.0.1:6379) answers a PING. */
export function redisUp(): boolean {
	try {
		return (
			execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "ping"], {
				encoding: "utf8",
				timeout: 2000,
			}).trim() === "PONG"
		);
	} catch {
		return false;
	}
}

/** Stops the machine's Redis as an outage does: at once, nothing saved. */
export function stopRedis(): void {
	try {
		execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], {
			timeout: 5000,
			stdio: "ignore",
		});
	} catch {
		// redis-cli exits non-zero when the server closes the link: that is the shutdown.
	}
	const deadline = Date.now() + 10_000;
	while (redisUp()) if (Date.now() > deadline) throw new Error("Redis did not stop");
}

/** Starts it again with the line of scripts/setup-machine.sh (no-op when it is up), and waits for PING. */
export async function startRedis(): Promise<void> {
	if (redisUp()) return;
	execFileSync(
		"redis-server",
		[
			"--daemonize",
			"yes",
			"--bind",
			"127.0.0.1",
			"-::1",
			"--port",
			"6379",
			"--save",
			"",
			"--appendonly",
			"no",
			"--dir",
			"/var/lib/redis",
			"--logfile",
			"/var/log/redis/ci.log",
		],
		{ timeout: 10_000, stdio: "ignore" },
	);
	const deadline = Date.now() + 30_000;
	while (!redisUp()) {
		if (Date.now() > deadline) throw new Error("Redis did not start");
		await new Promise(r => setTimeout(r, 100));
	}
}

/** The pid of the machine's Redis, from the server itself. */
export function redisPid(): number {
	const info = execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "info", "server"], {
		encoding: "utf8",
		timeout: 2000,
	});
	const m = /process_id:(\d+)/.exec(info);
	if (!m) throw new Error(`no process_id in INFO server: ${info.slice(0, 200)}`);
	return Number(m[1]);
}

/**
 * Freezes Redis (SIGSTOP): its connections stay open and every command hangs unanswered, as on
 * a server stuck in a long command, a swapping host or a half-dead network. `resumeRedis` undoes it.
 */
export function hangRedis(pid: number): void {
	process.kill(pid, "SIGSTOP");
}

/** SIGCONT to a Redis frozen by `hangRedis` (harmless when it runs or is gone). */
export function resumeRedis(pid: number): void {
	try {
		process.kill(pid, "SIGCONT");
	} catch {
		// gone: startRedis brings it back
	}
}
