/**
 * After a fault: does the live side work again? A user outside the load (so nothing else moves
 * their balance) places an order; its `order.updated` must reach both a socket opened before
 * the faults and one opened now, and the reads taken while it was NEW (so cached NEW) must show
 * the pushed status right after the push, with the balance the payments database holds.
 */
import { Knex } from "knex";
import { randomUUID } from "crypto";
import { io, Socket } from "socket.io-client";
import { call, sleep } from "../support/harness";
import { base } from "./cluster";

const PUSH_TIMEOUT_MS = 10_000;
const ORDER_AMOUNT = 100;
/** Orders tried until one is still NEW when read back (the account lock in `once` makes the first do). */
const TRIES = 3;
/** How long after a stale balance it is read again (see `once`). */
const REREAD_AFTER_MS = 600;

interface Pushed {
	orderId: string;
	status: string;
}

export class Probe {
	/** Every order id the probe placed (the load's accounting leaves them out). */
	readonly ids = new Set<string>();
	/** Balances read right after a push that were not the stored one yet (see `once`). */
	readonly staleAfterPush: string[] = [];
	rounds = 0;
	private spent = 0;
	private early?: Socket;
	private readonly earlyEvents: Pushed[] = [];

	constructor(
		readonly userId: number,
		private readonly funding: number,
		private readonly payments: Knex,
	) {}

	/** The socket that lives through every fault, as a browser tab would. */
	async open(): Promise<void> {
		this.early = await connect(this.userId, true);
		this.early.on("order.updated", (e: Pushed) => this.earlyEvents.push(e));
	}

	close(): void {
		this.early?.disconnect();
	}

	/** Problems found; none when the push arrived and every read was fresh. */
	async check(): Promise<string[]> {
		const fresh = await connect(this.userId, false).catch(err => err as Error);
		if (fresh instanceof Error) return [`a new socket could not connect: ${fresh.message}`];
		try {
			for (let i = 0; i < TRIES; i++) {
				const r = await this.once(fresh);
				if (r.problems.length || r.sawNew) return r.problems;
			}
			return [`in ${TRIES} orders none was still NEW when read back: the cache was not exercised`];
		} finally {
			fresh.disconnect();
		}
	}

	/**
	 * Runs `fn` with the probe's account row locked in the payments database: a payment of the
	 * probe's order waits until `fn` is done. (An order is paid within a few milliseconds, faster
	 * than a POST's answer and three reads come back.)
	 */
	private async whileAccountLocked<T>(fn: () => Promise<T>): Promise<T> {
		const hold = await this.payments.transaction();
		try {
			await hold("accounts").where({ user_id: this.userId }).forUpdate().first("user_id");
			return await fn();
		} finally {
			await hold.commit();
		}
	}

	private async once(fresh: Socket): Promise<{ problems: string[]; sawNew: boolean }> {
		const u = this.userId;
		this.rounds++;
		const onFresh = nextPush(fresh);
		// Placed and read while the probe's account is locked (its payment waits), so that the
		// order is still NEW when read and those answers get cached.
		const { post, entity } = await this.whileAccountLocked(async () => {
			const post = await call(
				base,
				"POST",
				"/api/orders",
				u,
				{ amount: ORDER_AMOUNT, description: "chaos probe" },
				{ "Idempotency-Key": randomUUID() },
			).catch(err => ({ status: 0, body: (err as Error).message }));
			if (post.status !== 202) return { post };
			const [entity] = await Promise.all([
				call(base, "GET", `/api/orders/${post.body.id}`, u),
				call(base, "GET", "/api/orders?limit=5", u),
				call(base, "GET", "/api/accounts/me", u),
			]);
			return { post, entity };
		});
		if (post.status !== 202)
			return {
				problems: [`probe order: ${post.status} ${JSON.stringify(post.body)}`],
				sawNew: true,
			};
		const id: string = post.body.id;
		this.ids.add(id);
		const sawNew = entity?.body?.status === "NEW";
		const problems: string[] = [];
		const pushed = await onFresh(id);
		if (!pushed)
			return {
				problems: [`no order.updated for ${id} on a new socket within ${PUSH_TIMEOUT_MS / 1000} s`],
				sawNew,
			};
		if (pushed.status !== "FINISHED")
			problems.push(`order ${id} pushed ${pushed.status}, expected FINISHED`);
		if (pushed.status === "FINISHED") this.spent += ORDER_AMOUNT;
		// Right after the push, before anything else: what a client that reacts to it reads.
		const [again, list, account] = await Promise.all([
			call(base, "GET", `/api/orders/${id}`, u),
			call(base, "GET", "/api/orders?limit=5", u),
			call(base, "GET", "/api/accounts/me", u),
		]);
		const stored = await this.payments("accounts").where({ user_id: u }).first("balance");
		if (again.body?.status !== pushed.status)
			problems.push(
				`GET /api/orders/${id} after the push: ${again.status} ${again.body?.status}, pushed ${pushed.status}`,
			);
		const listed = Array.isArray(list.body)
			? list.body.find((o: { id: string }) => o.id === id)
			: undefined;
		if (listed?.status !== pushed.status)
			problems.push(
				`the order list after the push shows ${listed?.status ?? "no such order"}, pushed ${pushed.status}`,
			);
		let balance = account.body?.balance;
		if (balance !== stored?.balance) {
			// Payments bumps the user's generation right after the debit's commit, before it wakes its
			// relay; a relay that polls in between can publish the result, and so bring the push, before
			// the bump lands (lib/cache.ts). Counted, then judged after that.
			this.staleAfterPush.push(`${balance} read, ${stored?.balance} stored`);
			await sleep(REREAD_AFTER_MS);
			balance = (await call(base, "GET", "/api/accounts/me", u)).body?.balance;
		}
		if (balance !== stored?.balance)
			problems.push(
				`GET /api/accounts/me after the push (and ${REREAD_AFTER_MS} ms later): ${balance}, the database ${stored?.balance}`,
			);
		if (stored?.balance !== this.funding - this.spent)
			problems.push(
				`probe balance ${stored?.balance} ≠ funding − its finished orders ${this.funding - this.spent}`,
			);
		const early = await waitFor(
			() => this.earlyEvents.find(e => e.orderId === id),
			PUSH_TIMEOUT_MS,
		);
		if (!early) problems.push(`no order.updated for ${id} on the socket opened before the faults`);
		return { problems, sawNew };
	}
}

function connect(userId: number, reconnect: boolean): Promise<Socket> {
	const socket = io(base, {
		path: "/socket.io",
		auth: { userId },
		transports: ["websocket"],
		forceNew: true,
		reconnection: reconnect,
	});
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error("no connection within 10 s")), 10_000);
		socket.once("connect", () => {
			clearTimeout(timer);
			resolve(socket);
		});
		if (!reconnect) socket.once("connect_error", err => reject(err));
	});
}

/** Listens from now on, so a push that comes before the caller asks is not missed. */
function nextPush(socket: Socket): (orderId: string) => Promise<Pushed | undefined> {
	const seen: Pushed[] = [];
	let wanted: { orderId: string; done: (p?: Pushed) => void } | undefined;
	const onEvent = (e: Pushed) => {
		seen.push(e);
		if (e.orderId === wanted?.orderId) wanted.done(e);
	};
	socket.on("order.updated", onEvent);
	return orderId =>
		new Promise(resolve => {
			const done = (p?: Pushed) => {
				clearTimeout(timer);
				socket.off("order.updated", onEvent);
				resolve(p);
			};
			const timer = setTimeout(() => done(undefined), PUSH_TIMEOUT_MS);
			const already = seen.find(e => e.orderId === orderId);
			if (already) done(already);
			else wanted = { orderId, done };
		});
}

async function waitFor<T>(find: () => T | undefined, ms: number): Promise<T | undefined> {
	const deadline = Date.now() + ms;
	for (;;) {
		const found = find();
		if (found || Date.now() > deadline) return found;
		await new Promise(r => setTimeout(r, 20));
	}
}
