import type { Channel } from "amqplib";

/** The durable business queues. Names are part of the public design (RabbitMQ console). */
export const Queues = {
	ordersToPay: "orders.to_pay",
	paymentResults: "payment.results",
	ordersToRefund: "orders.to_refund",
} as const;

export const deadLetterQueue = (queue: string) => `${queue}.dlq`;

// The broker's own delivery limit is a backstop for messages that crash their consumer
// before it can count attempts. It is fixed: changing a queue argument would make every
// existing queue refuse the declaration.
const BROKER_DELIVERY_LIMIT = 20;

/** How queues are declared on a RabbitMQ cluster (absent: one node, or the broker's defaults). */
export interface ClusterDeclaration {
	/** Replicas of a queue created now (`x-quorum-initial-group-size`). */
	replicas: number;
	/** Opens a scratch channel for the passive check, which closes its channel when the queue is missing. */
	open: () => Promise<Channel>;
}

/**
 * Declares a quorum queue and its dead-letter queue. Quorum queues replicate on a RabbitMQ
 * cluster and count deliveries, which bounds redelivery of a message that kills its consumer.
 *
 * On a cluster a queue is created with `cluster.replicas` replicas. That argument cannot be
 * added to a queue that exists (from a single-node setup, or an older Gozon): a declaration whose
 * arguments differ from the queue's is refused with PRECONDITION_FAILED, either way round. So a
 * queue that exists is only checked, passively, and keeps the arguments it was created with.
 */
export async function declareQueue(
	channel: Channel,
	queue: string,
	cluster?: ClusterDeclaration,
): Promise<void> {
	const dlq = deadLetterQueue(queue);
	await declare(channel, dlq, { "x-queue-type": "quorum" }, cluster);
	await declare(
		channel,
		queue,
		{
			"x-queue-type": "quorum",
			"x-delivery-limit": BROKER_DELIVERY_LIMIT,
			"x-dead-letter-exchange": "",
			"x-dead-letter-routing-key": dlq,
		},
		cluster,
	);
}

async function declare(
	channel: Channel,
	queue: string,
	args: Record<string, unknown>,
	cluster: ClusterDeclaration | undefined,
): Promise<void> {
	if (!cluster) {
		await channel.assertQueue(queue, { durable: true, arguments: args });
		return;
	}
	if (await exists(cluster, queue)) return;
	await channel.assertQueue(queue, {
		durable: true,
		arguments: { ...args, "x-quorum-initial-group-size": cluster.replicas },
	});
}

async function exists(cluster: ClusterDeclaration, queue: string): Promise<boolean> {
	const scratch = await cluster.open();
	scratch.on("error", () => undefined);
	try {
		await scratch.checkQueue(queue);
		return true;
	} catch (err) {
		if ((err as { code?: number }).code === 404) return false;
		throw err;
	} finally {
		await scratch.close().catch(() => undefined);
	}
}
