import type { Knex } from "knex";
import type { Logger } from "moleculer";
import type { Config } from "../../lib/config";
import type { OrderToPay } from "../../lib/contracts";
import { Sweeper } from "../../lib/db/sweeper";
import { OutboxStore, Queues } from "../../lib/messaging";

const outbox = new OutboxStore();

/** A re-request waits stuckAfter × 2^attempts before the next, doubling at most this often. */
const MAX_DOUBLINGS = 6;
const BATCH = 500;

export interface SweptOrder extends OrderToPay {
	attempt: number;
	ageS: number;
}

/**
 * Publishes again, through the outbox, the payment request of every order still NEW
 * `stuckAfterS` after it was placed: its request or its result was lost on the way (a result
 * dead-lettered after the debit, a message purged by hand). Payments answers a repeated
 * request for an order it already decided with the recorded decision, so a re-request never
 * debits twice; this repairs the order either way. Each order then waits twice as long before
 * its next re-request (next_sweep_at), so a long outage does not flood the queue. Orders placed
 * after the oldest still unpublished outbox row are left alone: their request has not even
 * left yet (broker down), and sending another would add nothing.
 */
export async function sweepStuckOrders(knex: Knex, stuckAfterS: number): Promise<SweptOrder[]> {
	return knex.transaction(async trx => {
		const { rows } = await trx.raw(
			`WITH stuck AS (
				SELECT id FROM orders
				 WHERE status = 'NEW'
				   AND created_at < now() - make_interval(secs => ?)
				   AND (next_sweep_at IS NULL OR next_sweep_at <= now())
				   AND created_at < coalesce(
				       (SELECT created_at FROM outbox_messages WHERE sent_at IS NULL ORDER BY id LIMIT 1), 'infinity')
				 ORDER BY created_at
				 LIMIT ?
				 FOR UPDATE SKIP LOCKED
			)
			UPDATE orders o
			   SET sweep_attempts = o.sweep_attempts + 1,
			       next_sweep_at = now() + make_interval(secs => ? * power(2, least(o.sweep_attempts, ?)))
			  FROM stuck WHERE o.id = stuck.id AND o.status = 'NEW'
			RETURNING o.id, o.user_id, o.amount, o.sweep_attempts,
			          extract(epoch FROM now() - o.created_at)::int AS age_s`,
			[stuckAfterS, BATCH, stuckAfterS, MAX_DOUBLINGS],
		);
		const swept: SweptOrder[] = rows.map((r: Record<string, number | string>) => ({
			orderId: r.id as string,
			userId: Number(r.user_id),
			amount: Number(r.amount),
			attempt: Number(r.sweep_attempts),
			ageS: Number(r.age_s),
		}));
		if (swept.length) {
			const requests: OrderToPay[] = swept.map(({ orderId, userId, amount }) => ({
				orderId,
				userId,
				amount,
			}));
			const insert = outbox.insertFragment(Queues.ordersToPay, requests);
			await trx.raw(insert.sql, insert.bindings as Knex.RawBinding[]);
		}
		return swept;
	});
}

/** The stuck-order sweep every SWEEP_INTERVAL_MS, one orders node at a time. */
export function stuckOrdersSweeper(
	knex: Knex,
	config: Config,
	logger: Logger,
	onSwept: (count: number) => void,
): Sweeper<SweptOrder[]> {
	return new Sweeper(knex, "gozon.stuck-orders", config.sweepIntervalMs, logger, async () => {
		const swept = await sweepStuckOrders(knex, config.orderStuckAfterS);
		for (const o of swept)
			logger.warn("Order stuck in NEW: its payment is requested again", {
				orderId: o.orderId,
				userId: o.userId,
				attempt: o.attempt,
				ageS: o.ageS,
			});
		if (swept.length) onSwept(swept.length);
		return swept;
	});
}
