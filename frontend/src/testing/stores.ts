import { createPinia, setActivePinia, type Pinia } from "pinia";

/** A clean slate for a test: nothing kept in localStorage, and new stores (the active Pinia). */
export function freshStores(): Pinia {
	localStorage.clear();
	const pinia = createPinia();
	setActivePinia(pinia);
	return pinia;
}
