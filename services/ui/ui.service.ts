import { existsSync } from "fs";
import { join } from "path";
import type { ServiceSchema } from "moleculer";
import ApiGateway, { type ApiRouteSchema, type ApiSettingsSchema } from "moleculer-web";
import type { Config } from "../../lib/config";
import { projectRoot } from "../../lib/paths";

export const dashboardDir = join(projectRoot, "frontend", "dist");

/** Serves the built Vue dashboard on UI_PORT (it calls the API on API_PORT). */
export function uiService(config: Config, folder = dashboardDir): ServiceSchema<ApiSettingsSchema> {
	return {
		name: "ui",
		mixins: [ApiGateway],
		settings: {
			port: config.uiPort,
			ip: "0.0.0.0",
			assets: { folder, options: { index: "index.html", maxAge: "1h" } },
			// No routes at all: an empty array would make moleculer-web add its default "/" route,
			// which maps /assets/x.js to an action call and answers 404 instead of the file.
			routes: null as unknown as ApiRouteSchema[],
			logRequest: null,
			logResponse: null,
		},
		started() {
			if (!existsSync(join(folder, "index.html")))
				this.logger.warn("The dashboard is not built: run `npm run build`", { folder });
			else this.logger.info(`Dashboard on http://localhost:${config.uiPort}`);
		},
	};
}
