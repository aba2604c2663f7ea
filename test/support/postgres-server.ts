import { execFile, execFileSync } from "child_process";
import { readdirSync } from "fs";
import { promisify } from "util";

/** The machine's PostgreSQL cluster version (the one directory under /etc/postgresql). */
const version = () => readdirSync("/etc/postgresql")[0];

/** Whether the machine's PostgreSQL (127.0.0.1:5432) accepts connections. */
export function postgresUp(): boolean {
	try {
		execFileSync("pg_isready", ["-q", "-h", "127.0.0.1", "-p", "5432"], { timeout: 5000 });
		return true;
	} catch {
		return false;
	}
}

/**
 * Runs pg_ctlcluster like scripts/setup-machine.sh's `daemon`: the postmaster it starts keeps
 * none of this process's files (a test runner's pipe or a lock would be held as long as it runs).
 * Asynchronous: the nodes under test share this process and must keep running meanwhile.
 */
async function pgCtl(...args: string[]): Promise<void> {
	await promisify(execFile)(
		"bash",
		[
			"-c",
			'for fd in /proc/self/fd/*; do n=${fd##*/}; ((n > 2)) && eval "exec $n>&-" 2>/dev/null; done; ' +
				'exec pg_ctlcluster --skip-systemctl-redirect "$@"',
			"pg-ctl",
			version(),
			"main",
			...args,
		],
		{ timeout: 120_000 },
	);
}

/** A fast restart: open sessions are terminated, the postmaster starts again at once. */
export async function restartPostgres(): Promise<void> {
	await pgCtl("restart", "-m", "fast");
}

/** Starts it again when it is down (no-op when it is up), and waits until it accepts connections. */
export async function ensurePostgres(): Promise<void> {
	if (!postgresUp()) await pgCtl("start");
	const deadline = Date.now() + 60_000;
	while (!postgresUp()) {
		if (Date.now() > deadline) throw new Error("PostgreSQL did not start");
		await new Promise(r => setTimeout(r, 200));
	}
}
