import { readdirSync, readFileSync } from "fs";

/** Every process's parent and state, from /proc (state Z: exited, waiting to be reaped). */
export function processTable(): Map<number, { ppid: number; state: string }> {
	const table = new Map<number, { ppid: number; state: string }>();
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			// The command name may hold spaces and parentheses: the fields start after the last ")".
			const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			table.set(Number(entry), { ppid: Number(ppid), state });
		} catch {
			// exited while we looked
		}
	}
	return table;
}

/** The pids below `root`, children before their own children. */
export function descendants(root: number): number[] {
	const table = processTable();
	const out: number[] = [];
	const walk = (pid: number) => {
		for (const [child, p] of table)
			if (p.ppid === pid) {
				out.push(child);
				walk(child);
			}
	};
	walk(root);
	return out;
}

/** Whether `pid` runs (an exited, unreaped zombie does not count). */
export function alive(pid: number): boolean {
	const p = processTable().get(pid);
	return p !== undefined && p.state !== "Z";
}
