import { computed, ref } from "vue";
import { t } from "../i18n";

export const MAX_DESCRIPTION = 500;

/** An order description: 1–500 characters once trimmed, as the API requires. */
export function useDescriptionField() {
	const text = ref("");
	const submitted = ref(false);
	const length = computed(() => text.value.trim().length);

	const error = computed(() => {
		if (length.value > MAX_DESCRIPTION) return t("orders.tooLong", { max: MAX_DESCRIPTION });
		return submitted.value && length.value === 0 ? t("orders.describe") : "";
	});

	/** Marks the field as submitted; the trimmed description, or null when invalid. */
	function take(): string | null {
		submitted.value = true;
		return error.value ? null : text.value.trim();
	}

	function reset(): void {
		text.value = "";
		submitted.value = false;
	}

	return { text, length, error, take, reset };
}
