/**
 * The benchmark's correctness checks: funding the users, what each run must have refused, the
 * database invariants afterwards, and the machine's ceiling (pgbench).
 */
import knexFactory, { Knex } from "knex";
import { call, sh } from "./harness";
import { Run } from "./bench-load";
import { ledgerByUser, spentByUser } from "./sums-by-user";

/** One check's outcome. "not checked" is never reported as holding. */
export interface Check {
	name: string;
	status: "ok" | "failed" | "not checked";
	details: string[];
}

export async function fundUsers(base: string, userIds: number[], amount: number) {
	for (let i = 0; i < userIds.length; i += 32)
		await Promise.all(
			userIds.slice(i, i + 32).map(async u => {
				await call(base, "POST", "/api/accounts", u);
				const r = await call(base, "POST", "/api/accounts/me/top-ups", u, { amount });
				if (r.status !== 200)
					throw new Error(`Funding user ${u} failed: ${r.status} ${JSON.stringify(r.body)}`);
			}),
		);
}

/**
 * Every order of a run costs the same amount, so whatever the order of processing, each user
 * gets exactly min(orders, funding ÷ amount) of them FINISHED and the rest CANCELLED for
 * INSUFFICIENT_FUNDS. Any other count, for any user, or any other reason is a bug.
 */
export function checkRefusals(run: Run, funding: number, amount: number): string[] {
	const affordable = Math.floor(funding / amount);
	const placed = new Map<number, number>();
	const cancelled = new Map<number, number>();
	for (const [id, user] of run.acceptedBy) {
		placed.set(user, (placed.get(user) ?? 0) + 1);
		if (run.pushed.get(id)?.status === "CANCELLED")
			cancelled.set(user, (cancelled.get(user) ?? 0) + 1);
	}
	let expected = 0;
	let usersOff = 0;
	for (const [user, n] of placed) {
		expected += Math.max(0, n - affordable);
		if ((cancelled.get(user) ?? 0) !== Math.max(0, n - affordable)) usersOff++;
	}
	const r = run.result;
	const problems: string[] = [];
	if (usersOff)
		problems.push(
			`"${r.name}": ${r.cancelled} CANCELLED, the funding makes it ${expected}; ${usersOff} users off`,
		);
	for (const [reason, n] of Object.entries(r.cancelReasons))
		if (reason !== "INSUFFICIENT_FUNDS") problems.push(`"${r.name}": ${n} CANCELLED for ${reason}`);
	return problems;
}

/**
 * After the runs, in the bench databases: every accepted order stored with the status its push
 * announced and none stored beyond them, none still NEW; each balance = funding − its FINISHED
 * orders = its ledger sum, none negative; no order debited twice.
 */
export async function checkInvariants(
	orders: Knex,
	payments: Knex,
	run: Run,
	userIds: number[],
	funding: number,
): Promise<string[]> {
	const name = run.result.name;
	const problems: string[] = [];
	const stored = await orders("orders").whereIn("user_id", userIds).select("id", "status");
	const storedStatus = new Map(
		stored.map((o: { id: string; status: string }) => [String(o.id), String(o.status)]),
	);
	let missing = 0;
	let mismatched = 0;
	for (const id of run.acceptedBy.keys()) {
		const status = storedStatus.get(id);
		const push = run.pushed.get(id);
		if (status === undefined) missing++;
		else if (push && push.status !== status) mismatched++;
	}
	if (missing) problems.push(`"${name}": ${missing} accepted orders not stored`);
	if (mismatched)
		problems.push(`"${name}": ${mismatched} orders stored with another status than pushed`);
	if (stored.length > run.acceptedBy.size)
		problems.push(`"${name}": ${stored.length} orders stored, ${run.acceptedBy.size} accepted`);
	const stillNew = stored.filter((o: { status: string }) => o.status === "NEW").length;
	if (stillNew) problems.push(`"${name}": ${stillNew} orders still NEW`);

	const spentBy = await spentByUser(orders, userIds);
	const accounts = await payments("accounts")
		.whereIn("user_id", userIds)
		.select("user_id", "balance");
	if (accounts.length !== userIds.length)
		problems.push(`"${name}": ${accounts.length} accounts for ${userIds.length} users`);
	const ledgerBy = await ledgerByUser(payments, userIds);
	for (const a of accounts) {
		const user = Number(a.user_id);
		const balance = Number(a.balance);
		const expected = funding - (spentBy.get(user) ?? 0);
		if (balance < 0) problems.push(`user ${user}: balance ${balance} < 0`);
		if (balance !== expected)
			problems.push(`user ${user}: balance ${balance} ≠ funding − FINISHED orders ${expected}`);
		if (ledgerBy.get(user) !== balance)
			problems.push(`user ${user}: balance ${balance} ≠ ledger ${ledgerBy.get(user)}`);
	}
	return problems;
}

/** `covered` says what an "ok" was checked over, so an empty run does not read as a pass. */
export const countCheck = (name: string, problems: string[], covered: string): Check => ({
	name,
	status: problems.length ? "failed" : "ok",
	details: problems.length ? problems : [covered],
});

/** The bench cluster's two databases, open for the checks and figures read after the runs. */
export interface BenchDatabases {
	orders: Knex;
	payments: Knex;
}

/** Runs `fn` with the bench databases of `env` open, and closes them whatever happens. */
export async function withBenchDatabases<T>(
	env: Record<string, string>,
	fn: (db: BenchDatabases) => Promise<T>,
): Promise<T> {
	const db = {
		orders: knexFactory({ client: "pg", connection: env.ORDERS_DATABASE_URL }),
		payments: knexFactory({ client: "pg", connection: env.PAYMENTS_DATABASE_URL }),
	};
	try {
		return await fn(db);
	} finally {
		await db.orders.destroy();
		await db.payments.destroy();
	}
}

const INVARIANTS = "invariants (bench databases)";

/** The invariants' check when they are not checked, and why (--url, --no-invariants). */
export const invariantsNotChecked = (why: string): Check => ({
	name: INVARIANTS,
	status: "not checked",
	details: [why],
});

/** The invariants over every run, in the bench databases. */
export async function invariantsCheck(
	db: BenchDatabases,
	planned: { run: Run; users: number[]; funding: number }[],
): Promise<Check> {
	const name = INVARIANTS;
	const problems: string[] = [];
	for (const p of planned)
		problems.push(...(await checkInvariants(db.orders, db.payments, p.run, p.users, p.funding)));
	problems.push(...(await checkNoDoubleDebit(db.payments)));
	return problems.length
		? {
				name,
				status: "failed",
				details: [
					...problems.slice(0, 20),
					...(problems.length > 20 ? [`… and ${problems.length - 20} more`] : []),
				],
			}
		: {
				name,
				status: "ok",
				details: [
					"every accepted order stored, final and with its pushed status; balance = funding − FINISHED orders = ledger sum, none negative; no order debited twice",
				],
			};
}

/** Orders debited more than once, over the whole bench database. */
export async function checkNoDoubleDebit(payments: Knex): Promise<string[]> {
	const doubled = await payments("account_transactions")
		.whereNotNull("order_id")
		.groupBy("order_id")
		.havingRaw("count(*) > 1")
		.count({ n: "*" });
	return doubled.length ? [`${doubled.length} orders debited more than once`] : [];
}

export const PGBENCH = "pgbench TPC-B-like, scale 10, 8 clients, 15 s";

/** pgbench's tps, or the reason it has none. Its database is dropped either way. */
export function pgbenchTps(db = "gozon_pgbench"): { tps: number } | { error: string } {
	const psql = (sql: string) => sh("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", sql]);
	const pg = ["-h", "127.0.0.1", "-U", "postgres"];
	try {
		psql(`DROP DATABASE IF EXISTS ${db}`);
		psql(`CREATE DATABASE ${db}`);
		sh("pgbench", [...pg, "-i", "-q", "-s", "10", db]);
		const out = sh("pgbench", [...pg, "-c", "8", "-j", "2", "-T", "15", db]);
		const tps = Number(out.match(/tps = ([\d.]+)/)?.[1]);
		return tps > 0 ? { tps } : { error: `no tps in pgbench's output: ${out.slice(-300)}` };
	} catch (err) {
		return { error: (err as Error).message.split("\n").slice(0, 3).join(" ") };
	} finally {
		try {
			psql(`DROP DATABASE IF EXISTS ${db}`);
		} catch {
			// PostgreSQL down: the failure above already says so
		}
	}
}
