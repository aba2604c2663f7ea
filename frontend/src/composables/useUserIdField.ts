import { computed, onScopeDispose, ref, watch } from "vue";
import { t } from "../i18n";
import { isValidUserId, useSessionStore } from "../stores/session";

function validate(raw: string): string {
	const text = raw.trim();
	if (text === "") return t("header.userIdRequired");
	if (!/^\d+$/.test(text) || !isValidUserId(Number(text))) return t("header.userIdInvalid");
	return "";
}

/** The header's user id box: applies a valid id after a pause in typing, or at once on Enter. */
export function useUserIdField(delayMs = 500) {
	const session = useSessionStore();
	const text = ref(String(session.userId));
	const error = computed(() => validate(text.value));
	let timer: ReturnType<typeof setTimeout> | undefined;

	function commit(): void {
		clearTimeout(timer);
		if (!error.value) session.setUserId(Number(text.value.trim()));
	}

	watch(text, () => {
		clearTimeout(timer);
		if (!error.value) timer = setTimeout(commit, delayMs);
	});
	watch(
		() => session.userId,
		id => {
			if (Number(text.value.trim()) !== id) text.value = String(id);
		},
	);
	onScopeDispose(() => clearTimeout(timer));

	return { text, error, commit };
}
