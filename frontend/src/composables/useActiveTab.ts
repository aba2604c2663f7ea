import { onScopeDispose, ref } from "vue";

/** Ids stay English (they are the URL hash); labels are tabs.<id> in the messages. */
export const TABS = [{ id: "account" }, { id: "orders" }, { id: "dashboard" }] as const;

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
