/** "1a2b3c4d-…" → "1a2b3c…": enough to tell orders apart in a toast. */
export function shortId(id: string): string {
	return id.length > 8 ? `${id.slice(0, 6)}…` : id;
}
