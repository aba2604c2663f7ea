import { ApiError, NetworkError } from "../lib/http";
import { formatRubles } from "../lib/money";
import type { CancelReason, OrderStatus } from "../lib/types";
import { currentLocale, t, te } from "./index";

/** Money in the current language: "1,234.56 ₽" or "1 234,56 ₽". */
export function money(kopecks: number, options: { signed?: boolean } = {}): string {
	return formatRubles(kopecks, { ...options, locale: currentLocale() });
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** "1 Feb 2025, 10:00" or "1 февр. 2025 г., 10:00". */
export function formatDate(iso: string): string {
	const locale = currentLocale() === "ru" ? "ru-RU" : "en-GB";
	let format = dateFormats.get(locale);
	if (!format) {
		format = new Intl.DateTimeFormat(locale, {
			day: "numeric",
			month: "short",
			year: "numeric",
			hour: "2-digit",
			minute: "2-digit",
		});
		dateFormats.set(locale, format);
	}
	const date = new Date(iso);
	return Number.isNaN(date.getTime()) ? "" : format.format(date);
}

export function statusLabel(status: OrderStatus): string {
	const key = `orders.statuses.${status}`;
	return te(key) ? t(key) : status;
}

export function cancelReasonLabel(reason: CancelReason | string | null | undefined): string {
	if (!reason) return "";
	const key = `orders.reasons.${reason}`;
	return te(key) ? t(key) : reason.replace(/_/g, " ").toLowerCase();
}

function apiErrorText(err: ApiError): string {
	const key = `errors.types.${err.type}`;
	if (te(key)) return t(key);
	// A type this page does not know yet: English readers get the server's own sentence.
	if (currentLocale() === "en" && err.serverMessage) return err.serverMessage;
	return t("errors.status", { status: err.status });
}

/** A sentence for a toast, in the reader's language, whatever was thrown. */
export function errorText(err: unknown): string {
	if (err instanceof NetworkError) return t("errors.network", { url: err.baseUrl });
	if (err instanceof ApiError) return apiErrorText(err);
	return t("errors.generic");
}
