import { strict as assert } from "assert";
import { readFileSync } from "fs";
import { join } from "path";
import { projectRoot } from "../../lib/paths";
import { configTable } from "../../scripts/config-doc";

describe("README", () => {
	const readme = readFileSync(join(projectRoot, "README.md"), "utf8");

	it("When the config changes, then the README's configuration table shows it (npm run config:doc)", () => {
		const start = readme.indexOf("<!-- config:start -->");
		const end = readme.indexOf("<!-- config:end -->");
		assert.ok(start >= 0 && end > start, "README has the config markers");
		assert.equal(
			readme.slice(start, end).replace("<!-- config:start -->", "").trim(),
			configTable(),
		);
	});

	it("When a newcomer opens it, then it starts with the commands that run the system and the tests", () => {
		const head = readme.slice(0, 1500);
		assert.match(head, /npm ci && npm start/);
		assert.match(head, /npm ci && npm test/);
		assert.match(head, /docker compose up --build/);
		const ci = readFileSync(join(projectRoot, ".ci", "run"), "utf8");
		const testCommand = head.match(/^(.*npm ci && npm test.*)$/m)![1].trim();
		assert.ok(ci.includes(testCommand), `.ci/run runs the README's test command: ${testCommand}`);
	});
});
