/**
 * Money is integer kopecks end to end. Formatting and parsing work on digit strings and
 * integer division, never on float arithmetic, so 0.1 + 0.2 can never appear on a receipt.
 */

/** The API accepts 1 ≤ amount ≤ 10^12 kopecks. */
export const MAX_AMOUNT_KOPECKS = 1_000_000_000_000;

/** The languages money is written in: English "1,234.56 ₽", Russian "1 234,56 ₽". */
export type MoneyLocale = "en" | "ru";

const INTL_LOCALES: Record<MoneyLocale, string> = { en: "en-US", ru: "ru-RU" };

const numberFormats = new Map<MoneyLocale, Intl.NumberFormat>();

function numberFormat(locale: MoneyLocale): Intl.NumberFormat {
	let format = numberFormats.get(locale);
	if (!format) {
		format = new Intl.NumberFormat(INTL_LOCALES[locale], {
			minimumFractionDigits: 2,
			maximumFractionDigits: 2,
		});
		numberFormats.set(locale, format);
	}
	return format;
}

// Intl.NumberFormat formats a decimal string exactly (no trip through a float, which would
// round the kopecks of amounts past 2^53 / 100); ES2022's typings only know numbers.
type FormatDecimal = (value: string) => string;

/**
 * 123456 → "1,234.56 ₽" (en) or "1 234,56 ₽" (ru, with no-break spaces, as Intl writes it);
 * with `signed`, positives get a "+" (ledger amounts).
 */
export function formatRubles(
	kopecks: number,
	options: { signed?: boolean; locale?: MoneyLocale } = {},
): string {
	if (!Number.isSafeInteger(kopecks)) return "—";
	const abs = Math.abs(kopecks);
	const decimal = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
	const format = numberFormat(options.locale ?? "en");
	const digits = (format.format as unknown as FormatDecimal).call(format, decimal);
	const sign = kopecks < 0 ? "-" : options.signed && kopecks > 0 ? "+" : "";
	return `${sign}${digits}\u00a0₽`;
}

/** Why an amount was refused; the page words it in the reader's language. */
export type AmountError = "required" | "positive" | "decimals" | "number" | "tooLarge";

export type ParsedAmount = { ok: true; kopecks: number } | { ok: false; error: AmountError };

const AMOUNT_PATTERN = /^(\d+)(?:[.,](\d{1,2}))?$/;
// "1,234.56" as the English page displays it: the commas can only be thousands separators.
const GROUPED_EN = /^\d{1,3}(?:,\d{3})+\.\d{1,2}$/;
// "1 234,56" as the Russian page displays it (ordinary, no-break or narrow no-break spaces).
const GROUPED_RU = /^\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:,\d{1,2})?$/;

/**
 * "150.50" → 15050. The decimal mark is "." (or "," when it is the only separator, as in
 * "10,5"); at most two decimals. "10,555" is refused rather than guessed at: read as a
 * thousands separator it would be a thousand times the amount meant as 10.555.
 */
export function parseRubles(input: string): ParsedAmount {
	let text = input.trim().replace(/[\s\u00a0]*₽$/, "");
	if (GROUPED_EN.test(text)) text = text.replace(/,/g, "");
	if (GROUPED_RU.test(text)) text = text.replace(/[ \u00a0\u202f]/g, "");
	if (text === "") return { ok: false, error: "required" };
	if (/^[-−]/.test(text)) return { ok: false, error: "positive" };
	if (/^\d+[.,]\d{3,}$/.test(text)) return { ok: false, error: "decimals" };
	const match = AMOUNT_PATTERN.exec(text);
	if (!match) return { ok: false, error: "number" };

	const whole = (match[1] ?? "0").replace(/^0+(?=\d)/, "");
	// 10^10 rubles is the API's ceiling; longer digit strings cannot be exact as numbers anyway.
	if (whole.length > 11) return { ok: false, error: "tooLarge" };
	const fraction = (match[2] ?? "").padEnd(2, "0");
	const kopecks = Number(whole) * 100 + Number(fraction);

	if (kopecks <= 0) return { ok: false, error: "positive" };
	if (kopecks > MAX_AMOUNT_KOPECKS) return { ok: false, error: "tooLarge" };
	return { ok: true, kopecks };
}
