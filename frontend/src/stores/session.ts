import { defineStore } from "pinia";
import { computed, ref } from "vue";
import { fetchAuthConfig, fetchDevToken, readTokenClaims, type AuthConfig } from "../lib/auth";
import { setCredentials } from "../lib/http";

const STORAGE_KEY = "gozon.userId";
/** A development token is renewed when it has less than this left, before any call fails. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export function isValidUserId(value: number): boolean {
	return Number.isSafeInteger(value) && value >= 1;
}

function readSavedUserId(): number {
	try {
		const saved = Number(localStorage.getItem(STORAGE_KEY));
		return isValidUserId(saved) ? saved : 1;
	} catch {
		return 1;
	}
}

/**
 * Who the dashboard acts as, per the gateway's AUTH_MODE:
 * - header: the typed user id goes out as X-User-ID (and the socket's auth.userId);
 * - jwt with dev tokens: the typed user id still, exchanged behind the scenes for a token that
 *   is renewed before it expires;
 * - jwt without: a pasted token, kept in memory only (never in storage), whose `sub` is the user.
 */
export const useSessionStore = defineStore("session", () => {
	const userId = ref(readSavedUserId());
	const mode = ref<AuthConfig["mode"]>("header");
	const devTokens = ref(false);
	const token = ref<string | null>(null);
	const tokenExpiresAt = ref(0);
	let pending: Promise<string> | null = null;
	let expiryTimer: ReturnType<typeof setTimeout> | undefined;

	/** jwt mode without the dev issuer: the user must paste a token. */
	const pastesToken = computed(() => mode.value === "jwt" && !devTokens.value);
	/** Whether calls can be made now (a pasted-token session needs its token first). */
	const signedIn = computed(() => !pastesToken.value || token.value !== null);

	function saveUserId(next: number): void {
		try {
			localStorage.setItem(STORAGE_KEY, String(next));
		} catch {
			// Private mode or a full quota: the id still applies for this visit.
		}
	}

	function setUserId(next: number): void {
		if (!isValidUserId(next) || next === userId.value || pastesToken.value) return;
		userId.value = next;
		// A dev token names one user: the next call fetches one for the new id.
		token.value = null;
		saveUserId(next);
	}

	/** The token for the next call; in dev-token mode fetched or renewed when needed. */
	async function accessToken(): Promise<string> {
		if (!devTokens.value) return token.value ?? "";
		if (token.value && tokenExpiresAt.value - Date.now() > REFRESH_MARGIN_MS) return token.value;
		const forUser = userId.value;
		pending ??= fetchDevToken(forUser)
			.finally(() => (pending = null))
			.then(issued => {
				if (userId.value === forUser) {
					token.value = issued.token;
					tokenExpiresAt.value = Date.parse(issued.expiresAt);
				}
				return issued.token;
			});
		return pending;
	}

	/** Reads the gateway's mode once, before the app mounts, and sets up the call headers. */
	async function loadAuthConfig(): Promise<void> {
		const config = await fetchAuthConfig();
		mode.value = config.mode;
		devTokens.value = config.mode === "jwt" && config.devTokens;
		setCredentials(
			config.mode === "jwt"
				? async () => ({ Authorization: `Bearer ${await accessToken()}` })
				: null,
		);
	}

	/**
	 * Signs in with a pasted token; returns what is wrong with it (a key of signIn in the
	 * messages), or "" when it was taken.
	 */
	function signIn(raw: string): "" | "notToken" | "expired" {
		const claims = readTokenClaims(raw);
		if (!claims) return "notToken";
		if (claims.expiresAt <= Date.now()) return "expired";
		token.value = raw.trim();
		tokenExpiresAt.value = claims.expiresAt;
		userId.value = claims.userId;
		clearTimeout(expiryTimer);
		// Ask for a new token when this one runs out (the server drops the socket then too).
		expiryTimer = setTimeout(signOut, Math.min(claims.expiresAt - Date.now(), 2 ** 31 - 1));
		return "";
	}

	function signOut(): void {
		clearTimeout(expiryTimer);
		token.value = null;
		tokenExpiresAt.value = 0;
	}

	return {
		userId,
		mode,
		devTokens,
		token,
		tokenExpiresAt,
		pastesToken,
		signedIn,
		setUserId,
		accessToken,
		loadAuthConfig,
		signIn,
		signOut,
	};
});
