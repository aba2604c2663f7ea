// `npm run lint`: typescript-eslint (recommended, plus the type-aware rules that catch
// unhandled promises) for the server, eslint-plugin-vue for the dashboard. Formatting is
// Prettier's job, so the rules that would fight it are off (eslint-config-prettier, last).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import vue from "eslint-plugin-vue";
import globals from "globals";
import prettier from "eslint-config-prettier";

export default tseslint.config(
	{
		ignores: [
			"node_modules/",
			"dist/",
			"frontend/dist/",
			"bench-results/",
			"test-results/",
			"coverage/",
		],
	},
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		files: ["**/*.ts"],
		ignores: ["frontend/**"],
		languageOptions: {
			globals: { ...globals.node, ...globals.mocha },
			parserOptions: { project: "./tsconfig.json", tsconfigRootDir: import.meta.dirname },
		},
		rules: {
			"@typescript-eslint/no-floating-promises": "error",
			"@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
		},
	},
	...vue.configs["flat/recommended"],
	{
		files: ["frontend/**/*.{ts,vue}"],
		languageOptions: {
			globals: { ...globals.browser },
			parserOptions: { parser: tseslint.parser, extraFileExtensions: [".vue"] },
		},
	},
	{
		rules: {
			"@typescript-eslint/no-unused-vars": [
				"error",
				{ argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
			],
		},
	},
	prettier,
);
