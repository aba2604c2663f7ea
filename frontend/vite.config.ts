import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

// This file lives in frontend/ but the commands run from the repository root, so every path
// is anchored here rather than at the process's working directory.
const frontendDir = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
	root: frontendDir,
	plugins: [vue()],
	// vue-i18n's esm-bundler build reads these flags: the composition API only (no legacy
	// API, smaller bundle) and no devtools hook in production.
	define: {
		__VUE_I18N_FULL_INSTALL__: true,
		__VUE_I18N_LEGACY_API__: false,
		__INTLIFY_PROD_DEVTOOLS__: false,
	},
	build: {
		outDir: fileURLToPath(new URL("./dist", import.meta.url)),
		emptyOutDir: true,
	},
	server: { port: 3000 },
	preview: { port: 3000 },
	test: {
		root: repoRoot,
		environment: "happy-dom",
		// The dashboard is served on :3000; the API base URL is derived from this location.
		environmentOptions: { happyDOM: { url: "http://localhost:3000/" } },
		include: ["frontend/src/**/*.test.ts"],
		setupFiles: ["frontend/src/testing/setup.ts"],
		restoreMocks: true,
		unstubGlobals: true,
	},
});
