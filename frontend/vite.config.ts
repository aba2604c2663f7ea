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
		restoreMocks: true,
		unstubGlobals: true,
	},
});
