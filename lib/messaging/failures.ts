import type { ConsumeMessage } from "amqplib";

/** Thrown by a decoder: the message can never be processed, so it goes to the DLQ at once. */
export class PoisonMessageError extends Error {}

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

/** Infrastructure trouble that says nothing about the message: retry without counting it. */
export function isTransientError(err: unknown): boolean {
	const e = err as { code?: string; name?: string; message?: string };
	if (!e) return false;
	// Class 08: connection exceptions.
	if (e.code && (TRANSIENT_CODES.has(e.code) || e.code.startsWith("08"))) return true;
	if (e.name === "KnexTimeoutError") return true;
	return /Connection terminated|connection ended|Client has encountered a connection error/i.test(
		e.message ?? "",
	);
}

/**
 * Our own count of the handler attempts that failed, carried by the copy of the message we
 * requeue after each failure. The broker's x-delivery-count cannot serve: it also counts
 * deliveries handed back unprocessed when a channel or connection is lost.
 */
export const FAILED_ATTEMPTS_HEADER = "x-failed-attempts";

/** 1 for a message no handler has failed on yet; 1 + the failed handler attempts otherwise. */
export function handlerAttempt(raw: ConsumeMessage): number {
	const failed = Number(raw.properties.headers?.[FAILED_ATTEMPTS_HEADER]);
	return Number.isInteger(failed) && failed > 0 ? failed + 1 : 1;
}
