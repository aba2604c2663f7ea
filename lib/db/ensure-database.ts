import { Client } from "pg";

/** Creates the database named in `url` when it does not exist yet (connecting to `postgres`). */
export async function ensureDatabase(url: string): Promise<boolean> {
	const target = new URL(url);
	const name = decodeURIComponent(target.pathname.replace(/^\//, ""));
	if (!name) throw new Error(`No database name in ${url}`);
	const admin = new URL(url);
	admin.pathname = "/postgres";
	const client = new Client({ connectionString: admin.toString() });
	await client.connect();
	try {
		const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
		if (found.rowCount) return false;
		try {
			await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
		} catch (err) {
			// Another node created it at the same moment: 42P04, or 23505 when both inserted into
			// pg_database before either committed.
			if (!["42P04", "23505"].includes((err as { code?: string }).code ?? "")) throw err;
			return false;
		}
		return true;
	} finally {
		await client.end();
	}
}
