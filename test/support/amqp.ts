import * as amqp from "amqplib";
import { testEnv } from "./env";

/** Publishes raw messages to a queue of the test vhost, waiting for the broker's confirms. */
export interface RawMessage {
	content: string | Buffer;
	messageId?: string;
	headers?: Record<string, unknown>;
}

export async function publishRaw(queue: string, messages: RawMessage[]): Promise<void> {
	const conn = await amqp.connect(testEnv.AMQP_URL);
	try {
		const ch = await conn.createConfirmChannel();
		for (const m of messages)
			ch.publish("", queue, Buffer.isBuffer(m.content) ? m.content : Buffer.from(m.content), {
				persistent: true,
				messageId: m.messageId,
				contentType: "application/json",
				headers: m.headers,
			});
		await ch.waitForConfirms();
	} finally {
		await conn.close();
	}
}

/** Takes every message currently in a queue (acknowledging them): for reading a DLQ. */
export async function drainQueue(queue: string): Promise<amqp.GetMessage[]> {
	const conn = await amqp.connect(testEnv.AMQP_URL);
	try {
		const ch = await conn.createChannel();
		const out: amqp.GetMessage[] = [];
		for (;;) {
			const msg = await ch.get(queue, { noAck: false });
			if (!msg) break;
			out.push(msg);
			ch.ack(msg);
		}
		return out;
	} finally {
		await conn.close();
	}
}

export async function queueDepth(queue: string): Promise<number> {
	const conn = await amqp.connect(testEnv.AMQP_URL);
	try {
		const ch = await conn.createChannel();
		return (await ch.checkQueue(queue)).messageCount;
	} finally {
		await conn.close();
	}
}
