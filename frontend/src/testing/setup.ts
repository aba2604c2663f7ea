import { config } from "@vue/test-utils";
import { beforeEach } from "vitest";
import { i18n } from "../i18n";

// Every mounted component gets the page's i18n, as main.ts installs it; tests start in
// English (a test that wants Russian switches to it), whatever the machine's language.
config.global.plugins = [i18n];

beforeEach(() => {
	i18n.global.locale.value = "en";
});
