import { describe, expect, it } from "vitest";
import { formatRubles, MAX_AMOUNT_KOPECKS, parseRubles } from "./money";

// Both languages put a no-break space before ₽ (and Russian between digit groups), so an
// amount never wraps; the tables below spell them with ordinary spaces to stay readable.
const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, " ");

describe("formatRubles in English", () => {
	it.each([
		[0, "0.00 ₽"],
		[5, "0.05 ₽"],
		[10, "0.10 ₽"],
		[100, "1.00 ₽"],
		[15050, "150.50 ₽"],
		[123456, "1,234.56 ₽"],
		[100000000, "1,000,000.00 ₽"],
		[MAX_AMOUNT_KOPECKS, "10,000,000,000.00 ₽"],
		[-99, "-0.99 ₽"],
		[-123456, "-1,234.56 ₽"],
	])("When given %i kopecks, then it shows %s", (kopecks, expected) => {
		expect(plain(formatRubles(kopecks))).toBe(expected);
		expect(plain(formatRubles(kopecks, { locale: "en" }))).toBe(expected);
	});

	it("When signed, then credits get a plus and debits a minus", () => {
		expect(plain(formatRubles(150050, { signed: true }))).toBe("+1,500.50 ₽");
		expect(plain(formatRubles(-9999, { signed: true }))).toBe("-99.99 ₽");
		expect(plain(formatRubles(0, { signed: true }))).toBe("0.00 ₽");
	});

	it("When the value is not an exact integer, then it shows a dash rather than a wrong sum", () => {
		expect(formatRubles(1.5)).toBe("—");
		expect(formatRubles(Number.NaN)).toBe("—");
		expect(formatRubles(2 ** 53)).toBe("—");
	});

	it("When the value is the largest exact integer, then every digit is kept", () => {
		expect(plain(formatRubles(Number.MAX_SAFE_INTEGER))).toBe("90,071,992,547,409.91 ₽");
	});

	it("When shown, then the sign is kept to the amount by a no-break space", () => {
		expect(formatRubles(123456)).toBe("1,234.56\u00a0₽");
	});
});

describe("formatRubles in Russian", () => {
	it.each([
		[0, "0,00 ₽"],
		[5, "0,05 ₽"],
		[15050, "150,50 ₽"],
		[123456, "1 234,56 ₽"],
		[100000000, "1 000 000,00 ₽"],
		[MAX_AMOUNT_KOPECKS, "10 000 000 000,00 ₽"],
		[-123456, "-1 234,56 ₽"],
	])("When given %i kopecks, then it shows %s", (kopecks, expected) => {
		expect(plain(formatRubles(kopecks, { locale: "ru" }))).toBe(expected);
	});

	it("When shown, then digit groups and ₽ are held together by no-break spaces, as Intl writes them", () => {
		expect(formatRubles(123456, { locale: "ru" })).toBe("1\u00a0234,56\u00a0₽");
		expect(formatRubles(123456, { locale: "ru" })).toBe(
			new Intl.NumberFormat("ru-RU", { style: "currency", currency: "RUB" }).format(1234.56),
		);
	});

	it("When signed or huge, then the sign and every kopeck are kept", () => {
		expect(plain(formatRubles(2500, { locale: "ru", signed: true }))).toBe("+25,00 ₽");
		expect(plain(formatRubles(Number.MAX_SAFE_INTEGER, { locale: "ru" }))).toBe(
			"90 071 992 547 409,91 ₽",
		);
	});
});

describe("parseRubles", () => {
	it.each([
		["0.1", 10],
		["0.01", 1],
		["10", 1000],
		["10.5", 1050],
		["10.55", 1055],
		["150.50", 15050],
		["10,5", 1050],
		["150,50", 15050],
		["  42  ", 4200],
		["007", 700],
		["0.29", 29],
		["1.13", 113],
		["10000000000", MAX_AMOUNT_KOPECKS],
		["1,234.56", 123456],
		["1,234,567.8", 123456780],
		["1,234.56 ₽", 123456],
		["1 234,56", 123456],
		["1\u00a0234\u00a0567,8\u00a0₽", 123456780],
		["1 000", 100000],
	])("When the input is %j, then it is %i kopecks", (input, kopecks) => {
		expect(parseRubles(input)).toEqual({ ok: true, kopecks });
	});

	it.each([
		["10.555", "decimals"],
		["0.001", "decimals"],
		["-1", "positive"],
		["−5", "positive"],
		["0", "positive"],
		["0.00", "positive"],
		["abc", "number"],
		["1e3", "number"],
		["10.", "number"],
		[".5", "number"],
		["10,555", "decimals"],
		["1,000", "decimals"],
		["12,34.56", "number"],
		["1 23,45", "number"],
		["+5", "number"],
		["", "required"],
		["   ", "required"],
	])("When the input is %j, then it is refused as %j", (input, error) => {
		expect(parseRubles(input)).toEqual({ ok: false, error });
	});

	it("When the amount is above the API's ceiling, then it is refused", () => {
		expect(parseRubles("10000000000.01")).toEqual({ ok: false, error: "tooLarge" });
		expect(parseRubles("99999999999999999999999").ok).toBe(false);
	});

	it.each(["en", "ru"] as const)(
		"When an amount formatted in %s is typed back, then the same kopecks come back",
		locale => {
			for (const kopecks of [10, 100, 123456, 999999999999]) {
				expect(parseRubles(formatRubles(kopecks, { locale }))).toEqual({ ok: true, kopecks });
			}
		},
	);
});
