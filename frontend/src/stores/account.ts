import { defineStore } from "pinia";
import { ref } from "vue";
import { t } from "../i18n";
import { errorText, money } from "../i18n/format";
import * as api from "../lib/api";
import { coalesce } from "../lib/coalesce";
import { ApiError } from "../lib/http";
import { loadNextPage, mayHaveMore, PAGE_SIZE, reloadLimit } from "../lib/paging";
import type { Account, LedgerEntry } from "../lib/types";
import { useSessionStore } from "./session";
import { useToastsStore } from "./toasts";

export type AccountStatus = "idle" | "loading" | "ready" | "missing" | "error";

function isAccountMissing(err: unknown): boolean {
	return err instanceof ApiError && err.type === "ACCOUNT_NOT_FOUND";
}

export const useAccountStore = defineStore("account", () => {
	const session = useSessionStore();
	const toasts = useToastsStore();

	const account = ref<Account | null>(null);
	const transactions = ref<LedgerEntry[]>([]);
	const hasMoreTransactions = ref(false);
	const loadingMoreTransactions = ref(false);
	const status = ref<AccountStatus>("idle");
	const loadError = ref<unknown>(null);
	const creating = ref(false);
	const toppingUp = ref(false);
	// Bumped on every user switch; an answer started under an older epoch is dropped.
	let epoch = 0;

	function reset(): void {
		epoch++;
		account.value = null;
		transactions.value = [];
		hasMoreTransactions.value = false;
		loadingMoreTransactions.value = false;
		status.value = "idle";
		loadError.value = null;
	}

	function markMissing(): void {
		account.value = null;
		transactions.value = [];
		hasMoreTransactions.value = false;
		status.value = "missing";
	}

	/**
	 * Reads the account and every ledger entry on screen (at least the first page). Data
	 * already on screen stays there while it refreshes.
	 */
	const load = coalesce(async () => {
		const started = epoch;
		const userId = session.userId;
		if (status.value !== "ready") status.value = "loading";
		const limit = reloadLimit(transactions.value.length);
		try {
			// One after the other: with no account the ledger would only be a second 404.
			const fresh = await api.fetchAccount(userId);
			const ledger = await api.fetchTransactions(userId, limit);
			if (started !== epoch) return;
			account.value = fresh;
			transactions.value = ledger;
			hasMoreTransactions.value = mayHaveMore(ledger.length, limit);
			status.value = "ready";
		} catch (err) {
			if (started !== epoch) return;
			if (isAccountMissing(err)) return markMissing();
			loadError.value = err;
			if (status.value !== "ready") status.value = "error";
			toasts.error(errorText(err));
		}
	});

	/** The next older page of the ledger, after the last entry shown. */
	function loadMoreTransactions(): Promise<void> {
		const started = epoch;
		const ledger = {
			items: transactions,
			hasMore: hasMoreTransactions,
			loadingMore: loadingMoreTransactions,
		};
		return loadNextPage(
			ledger,
			before => api.fetchTransactions(session.userId, PAGE_SIZE, before),
			() => started === epoch,
			err => toasts.error(errorText(err)),
		);
	}

	async function create(): Promise<void> {
		if (creating.value) return;
		creating.value = true;
		const started = epoch;
		try {
			const created = await api.createAccount(session.userId);
			if (started !== epoch) return;
			account.value = created;
			transactions.value = [];
			hasMoreTransactions.value = false;
			status.value = "ready";
			toasts.success(t("account.created"));
		} catch (err) {
			toasts.error(errorText(err));
			if (err instanceof ApiError && err.type === "ACCOUNT_EXISTS") void load();
		} finally {
			creating.value = false;
		}
	}

	/** Credits `kopecks`; resolves true when the server confirmed it. */
	async function topUp(kopecks: number): Promise<boolean> {
		if (toppingUp.value) return false;
		toppingUp.value = true;
		const started = epoch;
		try {
			const updated = await api.topUp(session.userId, kopecks);
			if (started !== epoch) return false;
			account.value = updated;
			toasts.success(t("account.added", { amount: money(kopecks) }));
			void load();
			return true;
		} catch (err) {
			toasts.error(errorText(err));
			if (started === epoch && isAccountMissing(err)) markMissing();
			return false;
		} finally {
			toppingUp.value = false;
		}
	}

	return {
		account,
		transactions,
		hasMoreTransactions,
		loadingMoreTransactions,
		status,
		loadError,
		creating,
		toppingUp,
		reset,
		load,
		loadMoreTransactions,
		create,
		topUp,
	};
});
