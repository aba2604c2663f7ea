/**
 * Newest-first lists read page by page: the next (older) page starts `before` the id of the
 * last item shown. The API takes 1 ≤ limit ≤ 1000.
 */
import type { Ref } from "vue";

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

/** A store's list as "load more" reads it: the items shown, and whether a next page may exist or is on its way. */
export interface PagedList<T> {
	items: Ref<T[]>;
	hasMore: Ref<boolean>;
	loadingMore: Ref<boolean>;
}

/**
 * Reads the next older page under the list, one at a time. `current()` says whether the list
 * is still the one asked for (false after a user switch): an answer for another is dropped.
 */
export async function loadNextPage<T extends { id: string | number }>(
	list: PagedList<T>,
	fetchOlder: (before: T["id"]) => Promise<T[]>,
	current: () => boolean,
	onError: (err: unknown) => void,
): Promise<void> {
	const last = list.items.value.at(-1);
	if (list.loadingMore.value || !list.hasMore.value || !last) return;
	list.loadingMore.value = true;
	try {
		const page = await fetchOlder(last.id);
		if (!current()) return;
		list.items.value = appendPage(list.items.value, page);
		list.hasMore.value = mayHaveMore(page.length, PAGE_SIZE);
	} catch (err) {
		if (current()) onError(err);
	} finally {
		if (current()) list.loadingMore.value = false;
	}
}
