import { defineStore } from "pinia";
import { ref } from "vue";
import * as api from "../lib/api";
import { coalesce } from "../lib/coalesce";
import { ApiError, errorMessage } from "../lib/http";
import { formatRubles } from "../lib/money";
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
	const status = ref<AccountStatus>("idle");
	const loadError = ref("");
	const creating = ref(false);
	const toppingUp = ref(false);
	// Bumped on every user switch; an answer started under an older epoch is dropped.
	let epoch = 0;

	function reset(): void {
		epoch++;
		account.value = null;
		transactions.value = [];
		status.value = "idle";
		loadError.value = "";
	}

	function markMissing(): void {
		account.value = null;
		transactions.value = [];
		status.value = "missing";
	}

	/** Reads the account and its ledger. Data already on screen stays there while it refreshes. */
	const load = coalesce(async () => {
		const started = epoch;
		const userId = session.userId;
		if (status.value !== "ready") status.value = "loading";
		try {
			// One after the other: with no account the ledger would only be a second 404.
			const fresh = await api.fetchAccount(userId);
			const ledger = await api.fetchTransactions(userId);
			if (started !== epoch) return;
			account.value = fresh;
			transactions.value = ledger;
			status.value = "ready";
		} catch (err) {
			if (started !== epoch) return;
			if (isAccountMissing(err)) return markMissing();
			loadError.value = errorMessage(err);
			if (status.value !== "ready") status.value = "error";
			toasts.error(loadError.value);
		}
	});

	async function create(): Promise<void> {
		if (creating.value) return;
		creating.value = true;
		const started = epoch;
		try {
			const created = await api.createAccount(session.userId);
			if (started !== epoch) return;
			account.value = created;
			transactions.value = [];
			status.value = "ready";
			toasts.success("Account created");
		} catch (err) {
			toasts.error(errorMessage(err));
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
			toasts.success(`Added ${formatRubles(kopecks)}`);
			void load();
			return true;
		} catch (err) {
			toasts.error(errorMessage(err));
			if (started === epoch && isAccountMissing(err)) markMissing();
			return false;
		} finally {
			toppingUp.value = false;
		}
	}

	return {
		account,
		transactions,
		status,
		loadError,
		creating,
		toppingUp,
		reset,
		load,
		create,
		topUp,
	};
});
