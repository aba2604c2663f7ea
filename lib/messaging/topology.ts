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

/**
 * Declares a quorum queue and its dead-letter queue. Quorum queues replicate on a RabbitMQ
 * cluster and count deliveries, which bounds redelivery of a message that kills its consumer.
 */
export async function declareQueue(channel: Channel, queue: string): Promise<void> {
	const dlq = deadLetterQueue(queue);
	await channel.assertQueue(dlq, { durable: true, arguments: { "x-queue-type": "quorum" } });
	await channel.assertQueue(queue, {
		durable: true,
		arguments: {
			"x-queue-type": "quorum",
			"x-delivery-limit": BROKER_DELIVERY_LIMIT,
			"x-dead-letter-exchange": "",
			"x-dead-letter-routing-key": dlq,
		},
	});
}
