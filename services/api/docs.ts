/**
 * GET /docs: Swagger UI (swagger-ui-dist 5) on the document at /openapi.json. The page is
 * ours, the files are swagger-ui-dist's, read once from node_modules and kept in memory.
 * The document's server URL is relative, so "Try it out" calls this same gateway.
 */
import { readFile } from "fs/promises";
import type { IncomingMessage, ServerResponse } from "http";
import { dirname, join } from "path";

/** Files of swagger-ui-dist the /docs page loads (the OpenAPI document lists them too). */
export const DOCS_ASSET_NAMES = [
	"swagger-ui.css",
	"swagger-ui-bundle.js",
	"favicon-32x32.png",
	"favicon-16x16.png",
];

const CONTENT_TYPES: Record<string, string> = {
	".css": "text/css; charset=utf-8",
	".js": "application/javascript; charset=utf-8",
	".png": "image/png",
};

/** The page: Swagger UI on `specUrl`, with the user id remembered across reloads. */
export function docsPage(specUrl = "/openapi.json"): string {
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Gozon API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
	url: ${JSON.stringify(specUrl)},
	dom_id: "#swagger-ui",
	deepLinking: true,
	presets: [SwaggerUIBundle.presets.apis],
	layout: "BaseLayout",
	persistAuthorization: true,
	displayRequestDuration: true,
});
</script>
</body>
</html>
`;
}

export class DocsAssets {
	private readonly cache = new Map<string, Buffer>();

	constructor(private readonly folder = dirname(require.resolve("swagger-ui-dist/package.json"))) {}

	/** The file's bytes and type, or undefined for a name that is not one of the page's files. */
	async get(name: string): Promise<{ body: Buffer; type: string } | undefined> {
		if (!DOCS_ASSET_NAMES.includes(name)) return undefined;
		let body = this.cache.get(name);
		if (!body) {
			body = await readFile(join(this.folder, name));
			this.cache.set(name, body);
		}
		return {
			body,
			type: CONTENT_TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream",
		};
	}
}

export function sendPage(res: ServerResponse, html: string): void {
	res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" });
	res.end(html);
}

export async function sendAsset(
	assets: DocsAssets,
	req: IncomingMessage & { $params?: { file?: string } },
	res: ServerResponse,
	notFound: () => void,
) {
	const asset = await assets.get(req.$params?.file ?? "");
	if (!asset) return notFound();
	res.writeHead(200, {
		"Content-Type": asset.type,
		"Content-Length": asset.body.length,
		"Cache-Control": "public, max-age=3600",
	});
	res.end(asset.body);
}
