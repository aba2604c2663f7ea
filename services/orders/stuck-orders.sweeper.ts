import type { Knex } from "knex";
import type { Logger } from "moleculer";
import type { Config } from "../../lib/config";
import type { OrderToPay } from "../../lib/contracts";
import { runSql } from "../../lib/db/sql";
import { Sweeper } from "../../lib/db/sweeper";
import { OutboxStore, Queues, WriteScope } from "../../lib/messaging";

const outbox = new OutboxStore();

/** A re-request waits stuckAfter × 2^attempts before the next, doubling at most this often. */
const MAX_DOUBLINGS = 6;
const BATCH = 500;

export interface SweptOrder extends OrderToPay {
	/** NEW: its payment was requested again; REFUNDING: its refund. */
	status: "NEW" | "REFUNDING";
	attempt: number;
	ageS: number;
}

/**
 * What an order waiting on payments is waiting for: a NEW order for its payment since it
 * was placed, a REFUNDING one for its refund since the refund was asked (the refund resets
 * the sweep bookkeeping). Constants, written into the SQL so the partial indexes
 * (orders_new_by_age, orders_refunding_by_age) serve the scans.
 */
const WAITING = [
	{ status: "NEW", since: "created_at", queue: Queues.ordersToPay },
	{ status: "REFUNDING", since: "updated_at", queue: Queues.ordersToRefund },
] as const;

/**
 * Publishes again, through the outbox, the payment request of every order still NEW
 * `stuckAfterS` after it was placed, and the refund request of every order still REFUNDING
 * that long after its refund was asked: its request or its result was lost on the way (a
 * result dead-lettered after the debit or credit, a message purged by hand). Payments
 * answers a repeated request for an order it already decided or refunded with the recorded
 * outcome, so a re-request never debits or credits twice; this repairs the order either way.
 * Each order then waits twice as long before its next re-request (next_sweep_at), so a long
 * outage does not flood the queue. Orders whose request was written after the oldest still
 * unpublished outbox row are left alone: their request has not even left yet (broker down),
 * and sending another would add nothing.
 */
export async function sweepStuckOrders(knex: Knex, stuckAfterS: number): Promise<SweptOrder[]> {
	return knex.transaction(async trx => {
		const swept: SweptOrder[] = [];
		for (const { status, since, queue } of WAITING) {
			const { rows } = await trx.raw(
				`WITH stuck AS (
					SELECT id FROM orders
					 WHERE status = '${status}'
					   AND ${since} < now() - make_interval(secs => ?)
					   AND (next_sweep_at IS NULL OR next_sweep_at <= now())
					   AND ${since} < coalesce(
					       (SELECT created_at FROM outbox_messages WHERE sent_at IS NULL ORDER BY id LIMIT 1), 'infinity')
					 ORDER BY ${since}
					 LIMIT ?
					 FOR UPDATE SKIP LOCKED
				)
				UPDATE orders o
				   SET sweep_attempts = o.sweep_attempts + 1,
				       next_sweep_at = now() + make_interval(secs => ? * power(2, least(o.sweep_attempts, ?)))
				  FROM stuck WHERE o.id = stuck.id AND o.status = '${status}'
				RETURNING o.id, o.user_id, o.amount, o.sweep_attempts,
				          extract(epoch FROM now() - o.${since})::int AS age_s`,
				[stuckAfterS, BATCH, stuckAfterS, MAX_DOUBLINGS],
			);
			const found: SweptOrder[] = rows.map((r: Record<string, number | string>) => ({
				orderId: r.id as string,
				userId: Number(r.user_id),
				amount: Number(r.amount),
				status,
				attempt: Number(r.sweep_attempts),
				ageS: Number(r.age_s),
			}));
			if (!found.length) continue;
			const requests: OrderToPay[] = found.map(({ orderId, userId, amount }) => ({
				orderId,
				userId,
				amount,
			}));
			await runSql(trx, outbox.insertFragment(queue, requests));
			swept.push(...found);
		}
		return swept;
	});
}

/**
 * The stuck-order sweep every SWEEP_INTERVAL_MS, one orders node at a time; each sweep is a
 * `write` (MessagingRuntime.write), which publishes the requests it wrote after the commit.
 */
export function stuckOrdersSweeper(
	knex: Knex,
	config: Config,
	logger: Logger,
	write: WriteScope,
	onSwept: (count: number) => void,
): Sweeper<SweptOrder[]> {
	return new Sweeper(knex, "gozon.stuck-orders", config.sweepIntervalMs, logger, async () => {
		const swept = await write(() => sweepStuckOrders(knex, config.orderStuckAfterS));
		for (const o of swept)
			logger.warn(
				o.status === "NEW"
					? "Order stuck in NEW: its payment is requested again"
					: "Order stuck in REFUNDING: its refund is requested again",
				{
					orderId: o.orderId,
					userId: o.userId,
					attempt: o.attempt,
					ageS: o.ageS,
				},
			);
		if (swept.length) onSwept(swept.length);
		return swept;
	});
}
