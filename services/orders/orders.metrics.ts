import type { Knex } from "knex";
import type { ServiceBroker } from "moleculer";
import { ORDER_STATUSES, OrderStatus } from "../../lib/contracts";
import type { MetricSnapshot } from "../../lib/observability/metrics";
import { valueMetric } from "../../lib/observability/node-metrics";

/**
 * Orders by status, counted on each scrape (one `count(*) ... group by status`; nothing is
 * counted per order). Every status is reported, 0 included, so a series never disappears.
 */
export async function ordersByStatus(broker: ServiceBroker, db: Knex): Promise<MetricSnapshot[]> {
	const rows: { status: OrderStatus; n: number }[] = await db("orders")
		.select("status")
		.count({ n: "*" })
		.groupBy("status");
	const counts = new Map(rows.map(r => [r.status, Number(r.n)]));
	return [
		valueMetric(
			broker,
			"gauge",
			"gozon_orders_by_status",
			"Orders stored, by status (NEW waits for its payment; FINISHED paid; CANCELLED refused; REFUNDING waits for its refund; REFUNDED paid back).",
			ORDER_STATUSES.map(status => [{ status }, counts.get(status) ?? 0]),
		),
	];
}

/**
 * Orders still NEW longer than ORDER_STUCK_AFTER_S after they were placed, or still REFUNDING
 * that long after the refund was asked: their request or result was lost or is late, and the
 * sweeper asks payments again. Above 0 for long means payments is not answering.
 */
export async function stuckOrders(
	broker: ServiceBroker,
	db: Knex,
	stuckAfterS: number,
): Promise<MetricSnapshot[]> {
	const { rows } = await db.raw(
		`SELECT (SELECT count(*) FROM orders WHERE status = 'NEW' AND created_at < now() - make_interval(secs => ?))
		      + (SELECT count(*) FROM orders WHERE status = 'REFUNDING' AND updated_at < now() - make_interval(secs => ?)) AS n`,
		[stuckAfterS, stuckAfterS],
	);
	return [
		valueMetric(
			broker,
			"gauge",
			"gozon_orders_stuck",
			"Orders still NEW, or REFUNDING, longer than ORDER_STUCK_AFTER_S (the sweeper requests their payment or refund again).",
			[[{}, Number(rows[0]?.n ?? 0)]],
		),
	];
}

/** Stuck orders this node's sweeper requested again, since the node started. */
export const sweptOrders = (broker: ServiceBroker, swept: number): MetricSnapshot =>
	valueMetric(
		broker,
		"counter",
		"gozon_orders_swept_total",
		"Payment requests published again for orders stuck in NEW by this node's sweeper, since the node started.",
		[[{}, swept]],
	);
