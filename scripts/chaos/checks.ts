/**
 * What the chaos suite checks in the databases and the broker: where each accepted order is,
 * the invariants that hold at every instant, and the dead-letter queues.
 */
import { Knex } from "knex";
import { connectFirst } from "../../lib/messaging/connection";
import { spentByUser } from "../support/sums-by-user";
import { env } from "./cluster";
import { Placed } from "./load";

export interface Progress {
	/**
	 * Accepted and stored, still NEW; or not accepted yet (its POST still being retried); or
	 * chosen for a refund and not REFUNDED yet (asked, REFUNDING, or its POST being retried).
	 */
	notFinal: number;
	/** Accepted (202 with an id) and not in the orders database: lost. */
	missing: number;
}

/**
 * The final status of every accepted order, looked up by its id. Only the ids not yet seen
 * final are queried again, so a poll stays cheap however long the run.
 */
export class Outcomes {
	readonly final = new Map<string, string>();

	constructor(private readonly orders: Knex) {}

	/** Where the orders first sent before `before` stand now. */
	async progress(placed: Placed[], before = Date.now()): Promise<Progress> {
		const due = placed.filter(p => p.sentAt < before && !p.refused);
		const open = due.filter(p => p.id && !this.final.has(p.id)).map(p => p.id!);
		const refunding = new Set(due.filter(p => p.refund && !p.refund.refused).map(p => p.id!));
		const stored = new Set<string>();
		let notFinal = due.filter(p => !p.id).length;
		for (let i = 0; i < open.length; i += 5000) {
			const rows: { id: string; status: string }[] = await this.orders("orders")
				.whereIn("id", open.slice(i, i + 5000))
				.select("id", "status");
			for (const r of rows) {
				stored.add(r.id);
				// An order to be refunded is final only once REFUNDED (or if it was never paid).
				const waiting =
					r.status === "NEW" ||
					r.status === "REFUNDING" ||
					(refunding.has(r.id) && r.status === "FINISHED");
				if (waiting) notFinal++;
				else this.final.set(r.id, r.status);
			}
		}
		return { notFinal, missing: open.filter(id => !stored.has(id)).length };
	}

	count(status: string): number {
		let n = 0;
		for (const s of this.final.values()) if (s === status) n++;
		return n;
	}
}

/** Stored orders whose id no client got back in a 202 (`known`: every id a client was given). */
export async function unacknowledged(orders: Knex, known: Set<string>): Promise<string[]> {
	const ids: string[] = await orders("orders").pluck("id");
	return ids.filter(id => !known.has(id));
}

/**
 * Checks that hold at every instant, each in ONE query (one snapshot): no negative balance,
 * balance = ledger, no order debited or refunded twice, one order per Idempotency-Key. With
 * `funding` (no load running, everything settled) also: balance = funding − finished orders
 * for the load's users, no outbox row left unsent, no order left REFUNDING, and every refund
 * accepted (its Idempotency-Key stored) ended REFUNDED with exactly one credit of its amount,
 * and no credit for any other order.
 */
export async function invariants(
	orders: Knex,
	payments: Knex,
	settled?: { users: number[]; funding: number },
) {
	const problems: string[] = [];
	const doubled = (
		await payments.raw(
			"SELECT order_id FROM account_transactions WHERE order_id IS NOT NULL GROUP BY order_id, kind HAVING count(*) > 1",
		)
	).rows.length;
	const drift = await payments.raw(
		`SELECT a.user_id, a.balance, coalesce(sum(t.amount), 0)::bigint AS ledger
		   FROM accounts a LEFT JOIN account_transactions t USING (user_id)
		  GROUP BY a.user_id, a.balance
		 HAVING a.balance < 0 OR a.balance <> coalesce(sum(t.amount), 0)`,
	);
	for (const r of drift.rows)
		problems.push(`user ${r.user_id}: balance ${r.balance}, ledger ${r.ledger}`);
	const orphans = await orders.raw(
		`SELECT count(*)::int AS n FROM orders o
		  WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = o.user_id AND k.response->>'id' = o.id::text)`,
	);
	if (orphans.rows[0].n)
		problems.push(
			`${orphans.rows[0].n} orders without their Idempotency-Key (a retry placed a second order)`,
		);
	if (settled) {
		const unsentOrders = await orders("outbox_messages")
			.whereNull("sent_at")
			.count({ n: "*" })
			.first();
		const unsentPayments = await payments("outbox_messages")
			.whereNull("sent_at")
			.count({ n: "*" })
			.first();
		if (Number(unsentOrders?.n) || Number(unsentPayments?.n))
			problems.push(`outbox rows unsent: orders ${unsentOrders?.n}, payments ${unsentPayments?.n}`);
		const spentBy = await spentByUser(orders);
		const accounts = await payments("accounts")
			.whereIn("user_id", settled.users)
			.select("user_id", "balance");
		for (const a of accounts) {
			const expected = settled.funding - (spentBy.get(a.user_id) ?? 0);
			if (a.balance !== expected)
				problems.push(
					`user ${a.user_id}: balance ${a.balance} ≠ funding − finished orders ${expected}`,
				);
		}
		problems.push(...(await refundProblems(orders, payments)));
	}
	return { problems, doubled };
}

/** Refunds once everything settled: each accepted one REFUNDED and credited exactly once. */
async function refundProblems(orders: Knex, payments: Knex): Promise<string[]> {
	const problems: string[] = [];
	const asked: { id: string; status: string }[] = (
		await orders.raw(
			`SELECT o.id, o.status FROM idempotency_keys k JOIN orders o ON o.id::text = k.response->>'id'
			  WHERE k.scope = 'orders.refund' AND k.response IS NOT NULL`,
		)
	).rows;
	const notDone = asked.filter(r => r.status !== "REFUNDED");
	if (notDone.length)
		problems.push(
			`${notDone.length} accepted refunds not REFUNDED at the end, e.g. ${notDone[0].id} ${notDone[0].status}`,
		);
	const refunded = new Map<string, number>(
		(await orders("orders").where("status", "REFUNDED").select("id", "amount")).map(
			(r: { id: string; amount: number | string }) => [r.id, Number(r.amount)],
		),
	);
	const stillRefunding = await orders("orders")
		.where("status", "REFUNDING")
		.count({ n: "*" })
		.first();
	if (Number(stillRefunding?.n))
		problems.push(`${stillRefunding?.n} orders still REFUNDING at the end`);
	const credits: { order_id: string; n: number; sum: number }[] = (
		await payments.raw(
			`SELECT order_id, count(*)::int AS n, sum(amount)::bigint AS sum FROM account_transactions
			  WHERE kind = 'ORDER_REFUND' GROUP BY order_id`,
		)
	).rows;
	const credited = new Map(credits.map(c => [c.order_id, c]));
	for (const [id, amount] of refunded) {
		const c = credited.get(id);
		if (!c || c.n !== 1 || Number(c.sum) !== amount)
			problems.push(
				`order ${id} REFUNDED with ${c?.n ?? 0} credits of ${c?.sum ?? 0} (amount ${amount})`,
			);
	}
	for (const c of credits)
		if (!refunded.has(c.order_id))
			problems.push(`order ${c.order_id} credited back but not REFUNDED`);
	return problems;
}

/** Where the orders still NEW are stuck: the trail of each through both databases. */
export async function trail(orders: Knex, payments: Knex, limit = 5) {
	const stuck = await orders("orders")
		.where("status", "NEW")
		.orderBy("seq")
		.limit(limit)
		.pluck("id");
	if (!stuck.length)
		console.log(
			"  (no stored order is NEW: the unfinished ones are POSTs still being retried, or lost)",
		);
	for (const id of stuck) {
		const out = await orders("outbox_messages").whereRaw("payload->>'orderId' = ?", [id]).first();
		const decision = await payments("order_payments").where({ order_id: id }).first();
		const result = await payments("outbox_messages")
			.whereRaw("payload->>'orderId' = ?", [id])
			.first();
		const received = result
			? await orders("inbox_messages").where({ message_id: result.message_id }).first()
			: undefined;
		console.log(
			`  stuck ${id}: request ${out ? `sent ${out.sent_at?.toISOString() ?? "NOT SENT"}` : "no outbox row"}; ` +
				`decision ${decision ? `${decision.status} ${decision.created_at.toISOString()}` : "none"}; ` +
				`result ${result ? `sent ${result.sent_at?.toISOString() ?? "NOT SENT"}` : "none"}; ` +
				`orders inbox ${received ? received.received_at.toISOString() : "none"}`,
		);
	}
}

export async function deadLetters(): Promise<string[]> {
	const conn = await connectFirst(env.AMQP_URL);
	try {
		const ch = await conn.createChannel();
		const ids: string[] = [];
		for (const q of ["orders.to_pay.dlq", "payment.results.dlq", "orders.to_refund.dlq"]) {
			const { messageCount } = await ch.checkQueue(q);
			if (!messageCount) continue;
			// Look without taking: read, then close the channel unacknowledged so they stay.
			const peek = await conn.createChannel();
			for (let i = 0; i < messageCount; i++) {
				const m = await peek.get(q, { noAck: false });
				if (m) ids.push(String(m.properties.messageId));
			}
			await peek.close();
		}
		return ids;
	} finally {
		await conn.close();
	}
}

/** One unparseable message on the business queue: it must end in the DLQ, and nothing else may. */
export async function publishPoison(id: string) {
	const conn = await connectFirst(env.AMQP_URL);
	try {
		const ch = await conn.createConfirmChannel();
		ch.publish("", "orders.to_pay", Buffer.from("{poison"), { persistent: true, messageId: id });
		await ch.waitForConfirms();
	} finally {
		await conn.close();
	}
}
