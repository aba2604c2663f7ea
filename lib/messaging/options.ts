/**
 * Tunables of the shared messaging module; one default and one line of doc per field. These
 * defaults are the only ones: lib/config.ts reads them for its settings (OUTBOX_*, CONSUMER_*,
 * MAX_DELIVERIES).
 */
export interface RelayOptions {
	/** Outbox rows claimed, published and marked sent per round. */
	batchSize: number;
	/** Rounds at once; above 1 a new row need not wait for the confirms of a round under way. */
	concurrency: number;
	/** Fallback poll interval; a writer publishes its own rows after the commit. */
	pollIntervalMs: number;
	/** How long to wait for the broker's publisher confirms of one round. */
	publishTimeoutMs: number;
	/** First retry delay after a failed round; doubles up to maxBackoffMs. */
	retryBackoffMs: number;
	/** Longest delay between retries while the broker or database is unreachable. */
	maxBackoffMs: number;
	/**
	 * Rows younger than this are left to the writer that publishes them after its commit; the
	 * poll takes only older ones (a writer that died, a publish that failed and was not retried).
	 */
	pollGraceMs: number;
	/** Rows published after their commit are marked sent together, one statement per this interval. */
	markDelayMs: number;
}

export const defaultRelayOptions: RelayOptions = {
	batchSize: 500,
	concurrency: 1,
	pollIntervalMs: 1000,
	publishTimeoutMs: 10000,
	retryBackoffMs: 100,
	maxBackoffMs: 5000,
	pollGraceMs: 3000,
	markDelayMs: 200,
};

export interface ConsumerOptions {
	/** Unacknowledged messages the broker may hand this consumer at once. */
	prefetch: number;
	/** Most messages handled in one call of the handler (one database transaction). */
	batchSize: number;
	/** Batches handled at the same time. */
	concurrency: number;
	/** Deliveries of a failing message before it is moved to `<queue>.dlq`. */
	maxDeliveries: number;
	/** First retry delay after a transient failure (database unreachable); doubles up to maxBackoffMs. */
	retryBackoffMs: number;
	/** Longest delay between retries of a transient failure. */
	maxBackoffMs: number;
	/** Log a line per handled message (with `logFields`); for TRACING, off by default. */
	logMessages: boolean;
	/** Delay before re-making a subscription the broker closed or cancelled; doubles up to maxBackoffMs. */
	recoverDelayMs: number;
}

export const defaultConsumerOptions: ConsumerOptions = {
	prefetch: 256,
	batchSize: 100,
	concurrency: 2,
	maxDeliveries: 5,
	retryBackoffMs: 100,
	maxBackoffMs: 5000,
	logMessages: false,
	recoverDelayMs: 500,
};

export interface ConnectionOptions {
	/** First reconnect delay after the broker connection is lost; doubles up to maxBackoffMs. */
	retryBackoffMs: number;
	/** Longest delay between reconnect attempts. */
	maxBackoffMs: number;
	/** AMQP heartbeat in seconds, used when the URL does not set one. */
	heartbeatSeconds: number;
	/** How long one connection attempt may take before the next URL is tried. */
	connectTimeoutMs: number;
	/** Replicas of a business queue created on a cluster (x-quorum-initial-group-size); 0: not sent. */
	replicas: number;
}

export const defaultConnectionOptions: ConnectionOptions = {
	retryBackoffMs: 100,
	maxBackoffMs: 5000,
	heartbeatSeconds: 10,
	connectTimeoutMs: 5000,
	replicas: 0,
};
