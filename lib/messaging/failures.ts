import type { ConsumeMessage } from "amqplib";

/** Thrown by a decoder: the message can never be processed, so it goes to the DLQ at once. */
export class PoisonMessageError extends Error {}

export { isTransientError } from "../transient";

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
