import { existsSync } from "fs";
import { dirname, join } from "path";

/** The repository root, found from this file whether it runs from the sources or from dist/. */
export const projectRoot = (() => {
	let dir = __dirname;
	while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
	return dir;
})();
