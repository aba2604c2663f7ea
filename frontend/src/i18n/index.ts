import { createI18n } from "vue-i18n";
import { en } from "./messages/en";
import { ru } from "./messages/ru";
import { browserLanguages, pickLocale, saveLocale, savedLocale, type Locale } from "./locale";

const ruPlurals = new Intl.PluralRules("ru");
const RU_FORMS = { one: 0, few: 1, many: 2, other: 2 } as Record<string, number>;

/** One instance for the page: components reach it through useI18n, stores through `t` below. */
export const i18n = createI18n({
	legacy: false,
	locale: pickLocale(savedLocale(), browserLanguages()),
	fallbackLocale: "en",
	messages: { en, ru },
	// "1 запись, 2 записи, 5 записей": Russian has three forms where English has two.
	pluralRules: { ru: choice => RU_FORMS[ruPlurals.select(choice)] ?? 2 },
	missingWarn: false,
	fallbackWarn: false,
});

export const t = i18n.global.t;
export const te = i18n.global.te;

/** The current language; reading it inside a render or computed makes that follow a switch. */
export function currentLocale(): Locale {
	return i18n.global.locale.value as Locale;
}

function applyToDocument(locale: Locale): void {
	if (typeof document === "undefined") return;
	document.documentElement.lang = locale;
	document.title = t("app.title");
}

/** The header's switch: changes every word on the page at once and remembers the choice. */
export function setLocale(locale: Locale): void {
	i18n.global.locale.value = locale;
	saveLocale(locale);
	applyToDocument(locale);
}

applyToDocument(currentLocale());

export type { Locale };
