/**
 * Infrastructure trouble, told apart from a bad request or a bad message: the database or the
 * network is down, restarting, overloaded or failing over. The consumer retries such a failure
 * without counting it against the message; the gateway answers it with a 503 and Retry-After.
 */
// Codes that say the database or the network is in trouble, never that the message is bad.
const TRANSIENT_CODES = new Set([
	"ECONNREFUSED",
	"ECONNRESET",
	"ETIMEDOUT",
	"EPIPE",
	"ENOTFOUND",
	"EAI_AGAIN",
	"25006", // read_only_sql_transaction: a standby, or a primary being demoted
	"40001", // serialization_failure
	"40P01", // deadlock_detected
	"53100", // disk_full
	"53200", // out_of_memory
	"53300", // too_many_connections
	"55P03", // lock_not_available (lock_timeout)
	"57014", // query_canceled (statement_timeout, or an operator's pg_cancel_backend)
	"57P01", // admin_shutdown
	"57P02", // crash_shutdown
	"57P03", // cannot_connect_now
	"58030", // io_error
]);

/** Infrastructure trouble that says nothing about the request or the message: retry it. */
export function isTransientError(err: unknown): boolean {
	const e = err as { code?: unknown; name?: string; message?: string };
	if (!e) return false;
	// Class 08: connection exceptions. (Moleculer's own errors carry numeric codes.)
	if (typeof e.code === "string" && (TRANSIENT_CODES.has(e.code) || e.code.startsWith("08")))
		return true;
	if (e.name === "KnexTimeoutError") return true;
	return /Connection terminated|connection ended|Client has encountered a connection error/i.test(
		e.message ?? "",
	);
}
