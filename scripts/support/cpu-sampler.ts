/**
 * CPU time per component of a run, read from /proc: what an order costs, a figure that does not
 * drift with the machine's load the way orders/s does.
 *
 * A component is a set of processes: the cluster's nodes by role (children of the supervisor),
 * PostgreSQL, RabbitMQ, Redis, and the load generator (this process). Each process counts its
 * utime + stime plus cutime + cstime, the CPU of its children that have exited: PostgreSQL
 * backends that end during a run are so still counted, in the postmaster's figures.
 */
import { readdirSync, readFileSync, readlinkSync } from "fs";

/** Linux's USER_HZ: /proc times are in 1/100 s. */
const TICK_MS = 10;

export type CpuSnapshot = Record<string, number>;

interface Proc {
	pid: number;
	ppid: number;
	comm: string;
	cpuMs: number;
	cmdline: string;
}

function readProc(pid: number): Proc | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// comm is in parentheses and may hold spaces: the fields after it start at the last ")".
		const close = stat.lastIndexOf(")");
		const comm = stat.slice(stat.indexOf("(") + 1, close);
		const f = stat.slice(close + 2).split(" ");
		// After comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
		const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
		const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
		return { pid, ppid: Number(f[1]), comm, cpuMs: ticks * TICK_MS, cmdline };
	} catch {
		return undefined; // exited meanwhile
	}
}

function allProcs(): Proc[] {
	return readdirSync("/proc")
		.filter(d => /^\d+$/.test(d))
		.map(d => readProc(Number(d)))
		.filter((p): p is Proc => p !== undefined);
}

/** Inodes of the sockets listening on a TCP port (/proc/net/tcp and tcp6; state 0A = LISTEN). */
function listeningInodes(port: number): Set<string> {
	const hex = port.toString(16).toUpperCase().padStart(4, "0");
	const inodes = new Set<string>();
	for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		let text: string;
		try {
			text = readFileSync(file, "utf8");
		} catch {
			continue;
		}
		for (const line of text.split("\n").slice(1)) {
			const f = line.trim().split(/\s+/);
			if (f[1]?.endsWith(`:${hex}`) && f[3] === "0A") inodes.add(f[9]);
		}
	}
	return inodes;
}

/** Whether the process holds one of the sockets. */
function holds(pid: number, inodes: Set<string>): boolean {
	try {
		return readdirSync(`/proc/${pid}/fd`).some(fd => {
			try {
				const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
				return m !== null && inodes.has(m[1]);
			} catch {
				return false;
			}
		});
	} catch {
		return false;
	}
}

/** The processes of a tree rooted at the given pids. */
function tree(procs: Proc[], roots: number[]): Proc[] {
	const out = procs.filter(p => roots.includes(p.pid));
	for (let i = 0; i < out.length; i++) out.push(...procs.filter(p => p.ppid === out[i].pid));
	return out;
}

/** The TCP ports the cluster uses, so only the servers listening there count. */
export interface ServerPorts {
	PostgreSQL: number;
	RabbitMQ: number;
	Redis: number;
}

const DEFAULT_PORTS: ServerPorts = { PostgreSQL: 5432, RabbitMQ: 5672, Redis: 6379 };

/**
 * CPU ms so far per component. `supervisor` is the pid of the cluster's `start.js`; its
 * children are the nodes, named by the role in their command line. A server counts only the
 * instance listening on the cluster's port, when that can be told: another RabbitMQ (a test
 * cluster) or PostgreSQL on the machine is not the bench's.
 */
export function cpuSnapshot(
	supervisor: number | undefined,
	ports: ServerPorts = DEFAULT_PORTS,
): CpuSnapshot {
	const procs = allProcs();
	const out: CpuSnapshot = {};
	const add = (name: string, ps: Proc[]) => {
		if (ps.length) out[name] = (out[name] ?? 0) + ps.reduce((n, p) => n + p.cpuMs, 0);
	};
	if (supervisor !== undefined) {
		add(
			"supervisor",
			procs.filter(p => p.pid === supervisor),
		);
		for (const node of procs.filter(p => p.ppid === supervisor)) {
			const role = node.cmdline.split(" ").pop() ?? "node";
			add(role, tree(procs, [node.pid]));
		}
	}
	const roots = (match: (p: Proc) => boolean, port: number) => {
		const set = procs.filter(match);
		// Only the topmost of a server's processes: its children come with the tree.
		const top = set.filter(p => !set.some(q => q.pid === p.ppid));
		const inodes = listeningInodes(port);
		const listening = top.filter(p => holds(p.pid, inodes));
		return (listening.length ? listening : top).map(p => p.pid);
	};
	add(
		"PostgreSQL",
		tree(
			procs,
			roots(p => p.comm === "postgres", ports.PostgreSQL),
		),
	);
	add(
		"RabbitMQ",
		tree(
			procs,
			roots(p => p.comm === "beam.smp" && p.cmdline.includes("rabbit"), ports.RabbitMQ),
		),
	);
	add(
		"Redis",
		tree(
			procs,
			roots(p => p.comm === "redis-server", ports.Redis),
		),
	);
	// This process alone: the supervisor and the nodes are its children, counted above.
	add(
		"load generator",
		procs.filter(p => p.pid === process.pid),
	);
	return out;
}

export interface CpuCost {
	/** CPU ms per order, by component. */
	perOrder: Record<string, number>;
	/** Everything but the load generator. */
	serverPerOrder: number;
}

/** CPU ms per order between two snapshots. */
export function cpuCost(before: CpuSnapshot, after: CpuSnapshot, orders: number): CpuCost {
	const perOrder: Record<string, number> = {};
	let server = 0;
	for (const [name, ms] of Object.entries(after)) {
		const delta = Math.max(0, ms - (before[name] ?? 0));
		perOrder[name] = orders > 0 ? Math.round((delta / orders) * 100) / 100 : Infinity;
		if (name !== "load generator") server += delta;
	}
	return {
		perOrder,
		serverPerOrder: orders > 0 ? Math.round((server / orders) * 100) / 100 : Infinity,
	};
}

/**
 * CPU ms per second of each component over `seconds` with no load: the system's fixed cost
 * (timers, polls, heartbeats, the servers' own ticks). At a low rate R each order carries
 * 1/R of it: at 20 orders/s, a twentieth.
 */
export async function idleCost(supervisor: number, seconds: number): Promise<CpuCost> {
	const before = cpuSnapshot(supervisor);
	await new Promise(r => setTimeout(r, seconds * 1000));
	return cpuCost(before, cpuSnapshot(supervisor), seconds);
}
