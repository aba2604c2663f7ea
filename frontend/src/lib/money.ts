/**
 * Money is integer kopecks end to end. Formatting and parsing work on digit strings and
 * integer division, never on float arithmetic, so 0.1 + 0.2 can never appear on a receipt.
 */

/** The API accepts 1 ≤ amount ≤ 10^12 kopecks. */
export const MAX_AMOUNT_KOPECKS = 1_000_000_000_000;

const AMOUNT_PATTERN = /^(\d+)(?:[.,](\d{1,2}))?$/;

function groupThousands(digits: string): string {
	return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 123456 → "1,234.56 ₽"; with `signed`, positives get a "+" (ledger amounts). */
export function formatRubles(kopecks: number, options: { signed?: boolean } = {}): string {
	if (!Number.isSafeInteger(kopecks)) return "—";
	const abs = Math.abs(kopecks);
	const rubles = Math.floor(abs / 100);
	const cents = abs % 100;
	const sign = kopecks < 0 ? "-" : options.signed && kopecks > 0 ? "+" : "";
	return `${sign}${groupThousands(String(rubles))}.${String(cents).padStart(2, "0")} ₽`;
}

export type ParsedAmount = { ok: true; kopecks: number } | { ok: false; error: string };

// "1,234.56" as this page displays it: the commas can only be thousands separators.
const GROUPED_PATTERN = /^\d{1,3}(?:,\d{3})+\.\d{1,2}$/;

/**
 * "150.50" → 15050. The decimal mark is "." (or "," when it is the only separator, as in
 * "10,5"); at most two decimals. "10,555" is refused rather than guessed at: read as a
 * thousands separator it would be a thousand times the amount meant as 10.555.
 */
export function parseRubles(input: string): ParsedAmount {
	let text = input.trim().replace(/\s*₽$/, "");
	if (GROUPED_PATTERN.test(text)) text = text.replace(/,/g, "");
	if (text === "") return { ok: false, error: "Enter an amount" };
	if (/^[-−]/.test(text)) return { ok: false, error: "Amount must be positive" };
	if (/^\d+[.,]\d{3,}$/.test(text)) return { ok: false, error: "At most 2 decimal places" };
	const match = AMOUNT_PATTERN.exec(text);
	if (!match) return { ok: false, error: "Enter a number, e.g. 150.50" };

	const whole = (match[1] ?? "0").replace(/^0+(?=\d)/, "");
	// 10^10 rubles is the API's ceiling; longer digit strings cannot be exact as numbers anyway.
	if (whole.length > 11) return { ok: false, error: tooLarge() };
	const fraction = (match[2] ?? "").padEnd(2, "0");
	const kopecks = Number(whole) * 100 + Number(fraction);

	if (kopecks <= 0) return { ok: false, error: "Amount must be positive" };
	if (kopecks > MAX_AMOUNT_KOPECKS) return { ok: false, error: tooLarge() };
	return { ok: true, kopecks };
}

function tooLarge(): string {
	return `At most ${formatRubles(MAX_AMOUNT_KOPECKS)}`;
}
