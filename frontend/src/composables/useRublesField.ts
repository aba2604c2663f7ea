import { computed, ref } from "vue";
import { t } from "../i18n";
import { money } from "../i18n/format";
import { MAX_AMOUNT_KOPECKS, parseRubles } from "../lib/money";

/** A rubles text field: validates as you type, and hands out kopecks only when valid. */
export function useRublesField() {
	const text = ref("");
	const submitted = ref(false);
	const parsed = computed(() => parseRubles(text.value));

	const error = computed(() => {
		const result = parsed.value;
		if (result.ok) return "";
		if (!submitted.value && text.value.trim() === "") return "";
		return t(`amount.${result.error}`, { max: money(MAX_AMOUNT_KOPECKS) });
	});

	/** Marks the field as submitted; the amount in kopecks, or null when invalid. */
	function take(): number | null {
		submitted.value = true;
		return parsed.value.ok ? parsed.value.kopecks : null;
	}

	function reset(): void {
		text.value = "";
		submitted.value = false;
	}

	return { text, error, take, reset };
}
