import { mount } from "@vue/test-utils";
import { beforeEach, describe, expect, it, vi } from "vitest";
import LocaleSwitch from "../components/layout/LocaleSwitch.vue";
import { i18n } from "./index";
import { en } from "./messages/en";
import { ru } from "./messages/ru";
import { LOCALE_STORAGE_KEY, pickLocale } from "./locale";

beforeEach(() => {
	localStorage.clear();
});

describe("pickLocale", () => {
	it.each([
		[["ru"], "ru"],
		[["ru-RU", "en-US"], "ru"],
		[["RU-ua"], "ru"],
		[["en-US", "ru-RU"], "en"],
		[["de-DE"], "en"],
		[["rue"], "en"],
		[[], "en"],
	] as const)(
		"When the browser asks for %j and nothing is saved, then it is %s",
		(langs, expected) => {
			expect(pickLocale(null, langs)).toBe(expected);
		},
	);

	it("When a choice was saved, then it wins over the browser; garbage is ignored", () => {
		expect(pickLocale("en", ["ru-RU"])).toBe("en");
		expect(pickLocale("ru", ["en-GB"])).toBe("ru");
		expect(pickLocale("fr", ["ru-RU"])).toBe("ru");
	});
});

/** A fresh page: the i18n module picks its language when it is first loaded. */
async function freshPage(languages: string[]) {
	vi.resetModules();
	vi.stubGlobal("navigator", { ...navigator, languages, language: languages[0] });
	return import("./index");
}

describe("the page's language", () => {
	it("When a Russian browser opens the page, then it is in Russian with <html lang> and title to match", async () => {
		const { currentLocale, t } = await freshPage(["ru-RU", "en"]);

		expect(currentLocale()).toBe("ru");
		expect(t("tabs.account")).toBe("Счёт");
		expect(document.documentElement.lang).toBe("ru");
		expect(document.title).toBe("Gozon · Панель");
	});

	it("When the switch picks English, then the choice is saved and the next page opens in English", async () => {
		const first = await freshPage(["ru-RU"]);
		first.setLocale("en");
		expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe("en");
		expect(document.documentElement.lang).toBe("en");

		const next = await freshPage(["ru-RU"]);

		expect(next.currentLocale()).toBe("en");
		expect(next.t("tabs.dashboard")).toBe("Dashboard");
	});

	it("When Russian counts ledger entries, then it uses its three plural forms", async () => {
		const { setLocale, t } = await freshPage(["ru"]);
		setLocale("ru");

		expect([1, 2, 5, 11, 21, 22, 25].map(n => t("ledger.count", n))).toEqual([
			"1 запись",
			"2 записи",
			"5 записей",
			"11 записей",
			"21 запись",
			"22 записи",
			"25 записей",
		]);
	});
});

describe("LocaleSwitch", () => {
	it("When RU is clicked, then the page's words change at once and RU is pressed", async () => {
		// The switch and the test share the module instance the test setup installed.
		const wrapper = mount(LocaleSwitch);
		expect(wrapper.get('[data-testid="locale-en"]').attributes("aria-pressed")).toBe("true");

		await wrapper.get('[data-testid="locale-ru"]').trigger("click");

		expect(wrapper.get('[data-testid="locale-ru"]').attributes("aria-pressed")).toBe("true");
		expect(wrapper.get('[data-testid="locale-switch"]').attributes("aria-label")).toBe("Язык");
		expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe("ru");
	});
});

/** Every key of one language, as dotted paths. */
function keys(messages: object, prefix = ""): string[] {
	return Object.entries(messages).flatMap(([key, value]) =>
		typeof value === "object" ? keys(value as object, `${prefix}${key}.`) : [`${prefix}${key}`],
	);
}

describe("the messages", () => {
	it("When compared, then Russian has every English key", () => {
		expect(keys(ru)).toEqual(keys(en));
	});

	it("When any message is compiled, then vue-i18n reads it without a syntax error", () => {
		const errors: string[] = [];
		for (const locale of ["en", "ru"] as const)
			for (const key of keys(en)) {
				const text = i18n.global.t(key, { n: 2, id: "x", amount: "1", reason: "r" }, { locale });
				if (text === key) errors.push(`${locale}: ${key}`);
			}
		expect(errors).toEqual([]);
	});
});
