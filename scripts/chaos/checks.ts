/**
 * What the chaos suite checks in the databases and the broker: where each accepted order is,
 * the invariants that hold at every instant, and the dead-letter queues.
 */
import { Knex } from "knex";
import { connectFirst } from "../../lib/messaging/connection";
import { env } from "./cluster";
import { Placed } from "./load";

export interface Progress {
	/** Accepted and stored, still NEW; or not accepted yet (its POST still being retried). */
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
		const stored = new Set<string>();
		let notFinal = due.filter(p => !p.id).length;
		for (let i = 0; i < open.length; i += 5000) {
			const rows: { id: string; status: string }[] = await this.orders("orders")
				.whereIn("id", open.slice(i, i + 5000))
				.select("id", "status");
			for (const r of rows) {
				stored.add(r.id);
				if (r.status === "NEW") notFinal++;
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
 * balance = ledger, no order debited twice, one order per Idempotency-Key. With `funding`
 * (no load running, everything settled) also: balance = funding − finished orders for the
 * load's users, and no outbox row left unsent.
 */
export async function invariants(
	orders: Knex,
	payments: Knex,
	settled?: { users: number[]; funding: number },
) {
	const problems: string[] = [];
	const doubled = (
		await payments.raw(
			"SELECT order_id FROM account_transactions WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1",
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
		const spent = await orders("orders")
			.where("status", "FINISHED")
			.groupBy("user_id")
			.select("user_id", orders.raw("sum(amount)::bigint AS spent"));
		const spentBy = new Map(spent.map((r: any) => [Number(r.user_id), Number(r.spent)]));
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
	}
	return { problems, doubled };
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
		for (const q of ["orders.to_pay.dlq", "payment.results.dlq"]) {
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
