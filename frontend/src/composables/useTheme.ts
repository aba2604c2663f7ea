import { readonly, ref, type Ref } from "vue";

export type Theme = "light" | "dark";

export const THEME_STORAGE_KEY = "gozon.theme";

// One theme for the whole page, shared by every caller.
let theme: Ref<Theme> | null = null;

function savedTheme(): Theme | null {
	try {
		const saved = localStorage.getItem(THEME_STORAGE_KEY);
		return saved === "light" || saved === "dark" ? saved : null;
	} catch {
		return null;
	}
}

function systemTheme(): Theme {
	const prefersDark =
		typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
	return prefersDark ? "dark" : "light";
}

function apply(value: Theme): void {
	document.documentElement.setAttribute("data-theme", value);
}

/** Light or dark, as a data-theme attribute on <html>; an explicit choice is remembered. */
export function useTheme() {
	if (!theme) {
		theme = ref(savedTheme() ?? systemTheme());
		apply(theme.value);
	}
	const current = theme;

	function setTheme(value: Theme): void {
		current.value = value;
		apply(value);
		try {
			localStorage.setItem(THEME_STORAGE_KEY, value);
		} catch {
			// Storage unavailable: the choice lasts until the page is closed.
		}
	}

	function toggle(): void {
		setTheme(current.value === "dark" ? "light" : "dark");
	}

	return { theme: readonly(current), setTheme, toggle };
}
