import { ServiceBroker } from "moleculer";
import {
	AmqpConnection,
	type ConnectionOptions,
	type ConsumerOptions,
	type IncomingMessage,
	Publisher,
	QueueConsumer,
} from "../../lib/messaging";
import { testEnv } from "./env";

/** The body of the test messages these consumers read. */
export type Numbered = { n: number };

const logger = new ServiceBroker({ logger: false }).getLogger("test");

/**
 * A shared-module consumer of `{ n }` messages on a test queue of its own, over its own
 * connection to the test vhost: for checking retries, dead letters and reconnects against the
 * real broker. `handle` is the test's handler.
 */
export function numberConsumer(
	queue: string,
	handle: (batch: IncomingMessage<Numbered>[]) => Promise<void>,
	options: Partial<ConsumerOptions>,
	connectionOptions: Partial<ConnectionOptions> = {},
) {
	const connection = new AmqpConnection(testEnv.AMQP_URL, [queue], logger, connectionOptions);
	const consumer = new QueueConsumer<Numbered>(
		connection,
		new Publisher(connection, 5000),
		{ queue, decode: body => body as Numbered, handle },
		logger,
		options,
	);
	return {
		connection,
		consumer,
		async start() {
			await connection.start();
			await consumer.start();
		},
		async stop() {
			await consumer.stop();
			await connection.stop();
		},
	};
}
