import type { Knex } from "knex";
import type { OrderStatus } from "../../lib/contracts";
import { gauge, MetricFamily } from "../../lib/observability/metrics";

const STATUSES: OrderStatus[] = ["NEW", "FINISHED", "CANCELLED"];

/**
 * Orders by status, counted on each scrape (one `count(*) ... group by status`; nothing is
 * counted per order). Every status is reported, 0 included, so a series never disappears.
 */
export async function ordersByStatus(db: Knex): Promise<MetricFamily[]> {
	const rows: { status: OrderStatus; n: number }[] = await db("orders")
		.select("status")
		.count({ n: "*" })
		.groupBy("status");
	const counts = new Map(rows.map(r => [r.status, Number(r.n)]));
	return [
		gauge(
			"gozon_orders_by_status",
			"Orders stored, by status (NEW waits for its payment; FINISHED paid; CANCELLED refused).",
			STATUSES.map(status => ({ labels: { status }, value: counts.get(status) ?? 0 })),
		),
	];
}
