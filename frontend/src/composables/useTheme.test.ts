import { beforeEach, describe, expect, it, vi } from "vitest";

// useTheme keeps one theme per page, so each test loads a fresh copy of the module: a new page.
async function freshUseTheme() {
	vi.resetModules();
	return (await import("./useTheme")).useTheme;
}

function systemPrefersDark(dark: boolean): void {
	vi.stubGlobal(
		"matchMedia",
		vi.fn((query: string) => ({ matches: dark && query.includes("dark"), media: query })),
	);
}

const htmlTheme = () => document.documentElement.getAttribute("data-theme");

beforeEach(() => {
	localStorage.clear();
	document.documentElement.removeAttribute("data-theme");
	systemPrefersDark(false);
});

describe("useTheme", () => {
	it("When nothing is saved, then it follows the system preference", async () => {
		systemPrefersDark(true);
		const { theme } = (await freshUseTheme())();

		expect(theme.value).toBe("dark");
		expect(htmlTheme()).toBe("dark");
		expect(localStorage.getItem("gozon.theme")).toBeNull();
	});

	it("When toggled, then <html> switches and the choice is saved", async () => {
		const { theme, toggle } = (await freshUseTheme())();
		expect(theme.value).toBe("light");

		toggle();

		expect(theme.value).toBe("dark");
		expect(htmlTheme()).toBe("dark");
		expect(localStorage.getItem("gozon.theme")).toBe("dark");
	});

	it("When the page is reloaded, then the saved choice wins over the system preference", async () => {
		(await freshUseTheme())().setTheme("light");
		systemPrefersDark(true);
		document.documentElement.removeAttribute("data-theme");

		const { theme } = (await freshUseTheme())();

		expect(theme.value).toBe("light");
		expect(htmlTheme()).toBe("light");
	});

	it("When two components use it, then they share one theme", async () => {
		const useTheme = await freshUseTheme();
		const first = useTheme();
		const second = useTheme();

		first.toggle();

		expect(second.theme.value).toBe("dark");
	});

	it("When storage holds garbage, then it is ignored", async () => {
		localStorage.setItem("gozon.theme", "purple");

		const { theme } = (await freshUseTheme())();

		expect(theme.value).toBe("light");
	});
});
