import type { CancelReason, LedgerKind, OrderStatus } from "./types";

/** Words people read for the API's enum values. */

export const STATUS_LABELS: Record<OrderStatus, string> = {
	NEW: "New",
	FINISHED: "Finished",
	CANCELLED: "Cancelled",
};

const CANCEL_REASONS: Record<CancelReason, string> = {
	INSUFFICIENT_FUNDS: "Insufficient funds",
	ACCOUNT_NOT_FOUND: "No account",
};

export function cancelReasonLabel(reason: string | null | undefined): string {
	if (!reason) return "";
	return CANCEL_REASONS[reason as CancelReason] ?? reason.replace(/_/g, " ").toLowerCase();
}

export const LEDGER_KIND_LABELS: Record<LedgerKind, string> = {
	TOP_UP: "Top-up",
	ORDER_PAYMENT: "Order payment",
};

/** "1a2b3c4d-…" → "1a2b3c…": enough to tell orders apart in a toast. */
export function shortId(id: string): string {
	return id.length > 8 ? `${id.slice(0, 6)}…` : id;
}

const dateFormat = new Intl.DateTimeFormat("en-GB", {
	day: "numeric",
	month: "short",
	year: "numeric",
	hour: "2-digit",
	minute: "2-digit",
});

export function formatDate(iso: string): string {
	const date = new Date(iso);
	return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
}
