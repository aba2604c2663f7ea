import { describe, expect, it } from "vitest";
import { formatRubles, MAX_AMOUNT_KOPECKS, parseRubles } from "./money";

describe("formatRubles", () => {
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
		expect(formatRubles(kopecks)).toBe(expected);
	});

	it("When signed, then credits get a plus and debits a minus", () => {
		expect(formatRubles(150050, { signed: true })).toBe("+1,500.50 ₽");
		expect(formatRubles(-9999, { signed: true })).toBe("-99.99 ₽");
		expect(formatRubles(0, { signed: true })).toBe("0.00 ₽");
	});

	it("When the value is not an exact integer, then it shows a dash rather than a wrong sum", () => {
		expect(formatRubles(1.5)).toBe("—");
		expect(formatRubles(Number.NaN)).toBe("—");
		expect(formatRubles(2 ** 53)).toBe("—");
	});

	it("When the value is the largest exact integer, then every digit is kept", () => {
		expect(formatRubles(Number.MAX_SAFE_INTEGER)).toBe("90,071,992,547,409.91 ₽");
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
		["  42  ", 4200],
		["007", 700],
		["0.29", 29],
		["1.13", 113],
		["10000000000", MAX_AMOUNT_KOPECKS],
		["1,234.56", 123456],
		["1,234,567.8", 123456780],
		["1,234.56 ₽", 123456],
	])("When the input is %j, then it is %i kopecks", (input, kopecks) => {
		expect(parseRubles(input)).toEqual({ ok: true, kopecks });
	});

	it.each([
		["10.555", "At most 2 decimal places"],
		["0.001", "At most 2 decimal places"],
		["-1", "Amount must be positive"],
		["−5", "Amount must be positive"],
		["0", "Amount must be positive"],
		["0.00", "Amount must be positive"],
		["abc", "Enter a number, e.g. 150.50"],
		["1e3", "Enter a number, e.g. 150.50"],
		["10.", "Enter a number, e.g. 150.50"],
		[".5", "Enter a number, e.g. 150.50"],
		["10,555", "At most 2 decimal places"],
		["1,000", "At most 2 decimal places"],
		["12,34.56", "Enter a number, e.g. 150.50"],
		["+5", "Enter a number, e.g. 150.50"],
		["", "Enter an amount"],
		["   ", "Enter an amount"],
	])("When the input is %j, then it is rejected with %j", (input, error) => {
		expect(parseRubles(input)).toEqual({ ok: false, error });
	});

	it("When the amount is above the API's ceiling, then it is rejected", () => {
		expect(parseRubles("10000000000.01")).toEqual({
			ok: false,
			error: "At most 10,000,000,000.00 ₽",
		});
		expect(parseRubles("99999999999999999999999").ok).toBe(false);
	});

	it("When a parsed amount is formatted, then the same figure comes back", () => {
		for (const text of ["0.10", "1.00", "1234.56", "9999999999.99"]) {
			const parsed = parseRubles(text);
			if (!parsed.ok) throw new Error(parsed.error);
			expect(formatRubles(parsed.kopecks).replace(/,/g, "")).toBe(`${text} ₽`);
		}
	});
});
