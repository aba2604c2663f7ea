/**
 * Newest-first lists read page by page: the next (older) page starts `before` the id of the
 * last item shown. The API takes 1 ≤ limit ≤ 1000.
 */

export const PAGE_SIZE = 20;
export const MAX_LIMIT = 1000;

/**
 * The limit of a reload: as many items as are shown (at least a page), so a reload after
 * "load more" re-reads everything on screen instead of folding the list back to one page.
 */
export function reloadLimit(shown: number): number {
	return Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, shown));
}

/** A full page means there may be more; a short one that the list is complete. */
export function mayHaveMore(received: number, limit: number): boolean {
	return received >= limit;
}

/** Adds an older page under a list, skipping what it already has (a reload may overlap). */
export function appendPage<T extends { id: string | number }>(items: T[], page: T[]): T[] {
	const known = new Set(items.map(i => String(i.id)));
	return [...items, ...page.filter(i => !known.has(String(i.id)))];
}
