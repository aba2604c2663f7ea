/** The dashboard's languages and how the first one is chosen. No Vue here. */

export type Locale = "en" | "ru";

export const LOCALES: readonly Locale[] = ["en", "ru"];

export const LOCALE_STORAGE_KEY = "gozon.locale";

function isLocale(value: unknown): value is Locale {
	return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

/**
 * A choice made with the header's switch wins; otherwise the browser's first language:
 * any Russian (`ru`, `ru-RU`, `ru-UA`…) → Russian, anything else → English.
 */
export function pickLocale(saved: string | null, browserLanguages: readonly string[]): Locale {
	if (isLocale(saved)) return saved;
	const first = browserLanguages[0] ?? "";
	return /^ru(?:-|$)/i.test(first) ? "ru" : "en";
}

export function savedLocale(): string | null {
	try {
		return localStorage.getItem(LOCALE_STORAGE_KEY);
	} catch {
		return null;
	}
}

export function saveLocale(locale: Locale): void {
	try {
		localStorage.setItem(LOCALE_STORAGE_KEY, locale);
	} catch {
		// Storage unavailable: the choice lasts until the page is closed.
	}
}

export function browserLanguages(): readonly string[] {
	if (typeof navigator === "undefined") return [];
	return navigator.languages?.length ? navigator.languages : [navigator.language];
}
