import { onScopeDispose, ref } from "vue";

export const TABS = [
	{ id: "account", label: "Account" },
	{ id: "orders", label: "Orders" },
	{ id: "dashboard", label: "Dashboard" },
] as const;

export type TabId = (typeof TABS)[number]["id"];

function tabFromHash(): TabId {
	const id = location.hash.slice(1);
	return TABS.find(t => t.id === id)?.id ?? "account";
}

/** The open tab, kept in the URL hash so a reload or a shared link opens the same tab. */
export function useActiveTab() {
	const active = ref<TabId>(tabFromHash());

	function select(id: TabId): void {
		active.value = id;
		history.replaceState(history.state, "", `#${id}`);
	}

	const onHashChange = () => {
		active.value = tabFromHash();
	};
	window.addEventListener("hashchange", onHashChange);
	onScopeDispose(() => window.removeEventListener("hashchange", onHashChange));

	return { active, select };
}
