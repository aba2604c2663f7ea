/** Stroke paths on a 24×24 grid (Lucide-style), so every icon shares one look. */

export type IconName =
	| "sun"
	| "moon"
	| "wallet"
	| "plus"
	| "bag"
	| "check"
	| "x"
	| "alert"
	| "info"
	| "arrow-down"
	| "arrow-up"
	| "chart"
	| "undo"
	| "globe";

export const ICON_PATHS: Record<IconName, string> = {
	sun: "M12 3v2M12 19v2M4.2 4.2l1.4 1.4M18.4 18.4l1.4 1.4M3 12h2M19 12h2M4.2 19.8l1.4-1.4M18.4 5.6l1.4-1.4M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z",
	moon: "M20 14.5A8 8 0 0 1 9.5 4 8 8 0 1 0 20 14.5z",
	wallet: "M3 7a2 2 0 0 1 2-2h12v4M3 7v10a2 2 0 0 0 2 2h14V9H5a2 2 0 0 1-2-2zM16 14h.01",
	plus: "M12 5v14M5 12h14",
	bag: "M6 7h12l1 13H5L6 7zM9 7V6a3 3 0 0 1 6 0v1",
	check: "M5 12.5l4.5 4.5L19 7.5",
	x: "M6 6l12 12M18 6L6 18",
	alert:
		"M12 8v5M12 16.5h.01M10.3 3.9L2.4 18a2 2 0 0 0 1.7 3h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
	info: "M12 11v5M12 7.5h.01M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z",
	"arrow-down": "M12 5v14M6 13l6 6 6-6",
	"arrow-up": "M12 19V5M6 11l6-6 6 6",
	chart: "M4 20V10M10 20V4M16 20v-7M22 20H2",
	undo: "M9 14L4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11",
	globe: "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18",
};
