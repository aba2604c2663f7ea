import { strict as assert } from "assert";
import type { ServiceBroker } from "moleculer";
import { ErrorTypes } from "../../lib/errors";
import { apiAliases } from "../../services/api/api.service";
import { actionParams, ordersParams } from "../../lib/action-params";
import { buildOpenApi, paramsToSchema, ruleToSchema } from "../../services/api/openapi";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId, RequestOptions, type Json } from "../support/http";
import {
	exampleProblems,
	openApiProblems,
	resolveRef,
	schemaProblems,
} from "../support/openapi-check";

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head"];

/** "GET /api/orders/{id}" for every operation of the document. */
function specRoutes(spec: Json): string[] {
	return Object.entries<Record<string, unknown>>(spec.paths)
		.flatMap(([path, item]) =>
			Object.keys(item)
				.filter(m => METHODS.includes(m))
				.map(m => `${m.toUpperCase()} ${path}`),
		)
		.sort();
}

describe("OpenAPI document and Swagger UI", () => {
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);
	let spec: Json;
	let gateway: ServiceBroker;

	before(async () => {
		await cluster.start();
		gateway = cluster.brokers[0];
		const reply = await api("GET", "/openapi.json");
		assert.equal(reply.status, 200);
		spec = reply.body;
	});
	after(() => cluster.stop());

	it("When the gateway serves a route, then the document describes it, and it describes no route the gateway lacks", async () => {
		// The gateway's live route table (moleculer-web's own list of its aliases).
		const aliases = await gateway.call<{ methods: string; fullPath: string }[], object>(
			"api.listAliases",
			{},
			{ nodeID: gateway.nodeID },
		);
		const served = aliases
			.map(a => `${a.methods} ${a.fullPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`)
			.sort();
		assert.deepEqual(specRoutes(spec), served);
		// The comparison covers every public route of apiAliases.
		for (const route of Object.keys(apiAliases)) {
			const [method, path] = route.split(" ");
			assert.ok(
				served.includes(`${method} /api${path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`),
				`${route} is served`,
			);
		}
		for (const path of ["/openapi.json", "/docs", "/health/live", "/health/ready", "/metrics"])
			assert.ok(served.includes(`GET ${path}`), `GET ${path} is served`);
	});

	it("When the document is read, then it is well-formed OpenAPI 3 and every example matches its schema", () => {
		assert.match(spec.openapi, /^3\.0\.\d+$/);
		assert.deepEqual(openApiProblems(spec), []);
		assert.deepEqual(exampleProblems(spec), []);
		// Relative server: "Try it out" calls whatever host serves the page.
		assert.deepEqual(
			spec.servers.map((s: { url: string }) => s.url),
			["/"],
		);
	});

	it("When an action's params change, then the request schemas follow (they are derived, not copied)", () => {
		const body = spec.paths["/api/orders"].post.requestBody.content["application/json"].schema;
		for (const [field, rule] of Object.entries(ordersParams.create))
			assert.deepEqual(
				{ ...body.properties[field], description: undefined },
				{ ...ruleToSchema(rule), description: undefined },
			);
		assert.deepEqual(body.required, ["amount", "description"]);

		for (const [route, action] of Object.entries(apiAliases)) {
			const [method, path] = route.split(" ");
			const op =
				spec.paths[`/api${path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`][method.toLowerCase()];
			const params = actionParams[action] ?? {};
			const documented: Record<string, unknown> = {};
			for (const p of op.parameters.map((x: Json) => (x.$ref ? resolveRef(spec, x.$ref) : x)))
				if (p.in === "query" || p.in === "path") documented[p.name] = p.schema;
			for (const [k, s] of Object.entries<Json>(
				op.requestBody?.content["application/json"].schema.properties ?? {},
			))
				documented[k] = { ...s, description: undefined };
			const derived = Object.fromEntries(
				Object.entries(paramsToSchema(params).properties as Record<string, Json>).map(([k, s]) => [
					k,
					op.requestBody ? { ...s, description: undefined } : s,
				]),
			);
			assert.deepEqual(
				documented,
				derived,
				`${route}: documented parameters are the params of ${action}`,
			);
		}

		const changed = buildOpenApi({
			api: { prefix: "/api", aliases: { "POST /orders": "orders.create" } },
			successStatus: {},
			actions: {
				"orders.create": {
					...ordersParams.create,
					description: { ...ordersParams.create.description, max: 300 },
				},
			},
			userIdPattern: "x",
			idempotencyKeyPattern: "x",
			authMode: "header",
			authAliases: { prefix: "/api/auth", aliases: {} },
			maxBalance: 1,
			version: "test",
		}) as Json;
		const schema = changed.paths["/api/orders"].post.requestBody.content["application/json"].schema;
		assert.equal(schema.properties.description.maxLength, 300);
	});

	it("When a route fails, then each documented error has the public error shape and a type of lib/errors.ts", () => {
		const types = new Set<string>();
		for (const [path, item] of Object.entries<Json>(spec.paths))
			for (const [method, op] of Object.entries<Json>(item)) {
				for (const [code, response] of Object.entries<Json>(op.responses)) {
					if (Number(code) < 400) continue;
					const media = response.content["application/json"];
					// Not ready is a report, not an error: its 503 has the readiness body.
					if (path === "/health/ready") {
						assert.equal(media.schema.$ref, "#/components/schemas/Readiness");
						continue;
					}
					assert.equal(
						media.schema.$ref,
						"#/components/schemas/Error",
						`${method} ${path} ${code}`,
					);
					for (const [name, ex] of Object.entries<Json>(media.examples ?? {})) {
						assert.equal(ex.value.type, name);
						assert.equal(ex.value.code, Number(code), `${method} ${path}: ${name} is a ${code}`);
						assert.ok(
							Object.values(ErrorTypes).includes(ex.value.type),
							`${name} is one of ErrorTypes`,
						);
						types.add(name);
					}
				}
				// /api/auth/* needs no identity (it says how to get one).
				if (path.startsWith("/api/auth/"))
					assert.deepEqual(op.security, [], `${method} ${path} is open`);
				else if (path.startsWith("/api")) {
					assert.ok(
						op.responses["401"].content["application/json"].examples.UNAUTHORIZED,
						`${method} ${path} documents 401`,
					);
					assert.ok(op.responses["503"], `${method} ${path} documents 503`);
				}
			}
		assert.deepEqual(
			[...types].sort(),
			Object.values(ErrorTypes).sort(),
			"every error type is documented somewhere",
		);
		assert.deepEqual(
			spec.components.schemas.Error.properties.type.enum.sort(),
			Object.values(ErrorTypes).sort(),
		);
	});

	it("When a client reads the document, then it finds the X-User-ID and Idempotency-Key headers and the order.updated event", () => {
		assert.deepEqual(spec.components.securitySchemes.UserId, {
			type: "apiKey",
			in: "header",
			name: "X-User-ID",
			description: spec.components.securitySchemes.UserId.description,
		});
		assert.deepEqual(spec.security, [{ UserId: [] }]);
		const withKey = specRoutes(spec).filter(r => {
			const [m, p] = r.split(" ");
			return (spec.paths[p][m.toLowerCase()].parameters ?? []).some(
				(x: Json) => x.$ref === "#/components/parameters/IdempotencyKey",
			);
		});
		assert.deepEqual(withKey, [
			"POST /api/accounts/me/top-ups",
			"POST /api/orders",
			"POST /api/orders/{id}/refund",
		]);
		assert.equal(spec.components.parameters.IdempotencyKey.in, "header");
		assert.equal(spec.components.parameters.IdempotencyKey.schema.maxLength, 255);
		for (const path of ["/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs"])
			assert.deepEqual(spec.paths[path].get.security, [], `${path} needs no X-User-ID`);

		assert.match(spec.info.description, /order\.updated/);
		assert.match(spec.info.description, /\/socket\.io/);
		assert.match(spec.info.description, /auth: \{ userId/);
		for (const field of ["orderId", "userId", "status", "amount", "cancelReason", "updatedAt"])
			assert.ok(spec.components.schemas.OrderUpdated.properties[field], `OrderUpdated.${field}`);
		const statuses = ["NEW", "FINISHED", "CANCELLED", "REFUNDING", "REFUNDED"];
		assert.deepEqual(spec.components.schemas.Order.properties.status.enum, statuses);
		assert.deepEqual(spec.components.schemas.OrderUpdated.properties.status.enum, statuses);
		assert.deepEqual(spec.components.schemas.OrderSummary.properties.byStatus.required, statuses);
		assert.deepEqual(spec.components.schemas.LedgerEntry.properties.kind.enum, [
			"TOP_UP",
			"ORDER_PAYMENT",
			"ORDER_REFUND",
		]);
	});

	it("When the documented calls are made, then each gets exactly its expected status, documented, with a body of the documented schema", async () => {
		const userId = newUserId();
		const stranger = newUserId();
		/** One call: the exact status it must get, which the document must list for the route. */
		const expect = async (
			method: string,
			path: string,
			route: string,
			status: number,
			opts: RequestOptions = {},
		) => {
			const reply = await api(method, path, opts);
			assert.equal(reply.status, status, `${method} ${path}: ${JSON.stringify(reply.body)}`);
			const documented = spec.paths[route][method.toLowerCase()].responses[String(status)];
			assert.ok(documented, `${method} ${route} documents ${status}`);
			const schema = documented.content?.["application/json"]?.schema;
			if (schema)
				assert.deepEqual(
					schemaProblems(spec, schema, reply.body),
					[],
					`${method} ${path} ${status}`,
				);
			return reply;
		};

		await expect("GET", "/api/accounts/me", "/api/accounts/me", 404, { userId });
		await expect("POST", "/api/accounts", "/api/accounts", 201, { userId });
		await expect("POST", "/api/accounts", "/api/accounts", 409, { userId });
		await expect("GET", "/api/accounts/me", "/api/accounts/me", 200, { userId });
		await expect("POST", "/api/accounts/me/top-ups", "/api/accounts/me/top-ups", 200, {
			userId,
			body: { amount: 500 },
		});
		await expect("POST", "/api/accounts/me/top-ups", "/api/accounts/me/top-ups", 422, {
			userId,
			body: { amount: 0 },
		});
		await expect("GET", "/api/accounts/me/transactions", "/api/accounts/me/transactions", 200, {
			userId,
		});
		const order = await expect("POST", "/api/orders", "/api/orders", 202, {
			userId,
			body: { amount: 1, description: "documented" },
		});
		await expect("POST", "/api/orders", "/api/orders", 400, { userId, rawBody: "{" });
		await expect("GET", "/api/orders", "/api/orders", 200, { userId });
		await expect("GET", "/api/orders?before=" + order.body.id, "/api/orders", 200, { userId });
		await expect("GET", "/api/orders?before=" + order.body.id, "/api/orders", 422, {
			userId: stranger,
		});
		await expect("GET", `/api/orders/${order.body.id}`, "/api/orders/{id}", 200, { userId });
		await expect("GET", `/api/orders/${order.body.id}`, "/api/orders/{id}", 404, {
			userId: stranger,
		});
		const refund = `/api/orders/${order.body.id}/refund`;
		await expect("POST", refund, "/api/orders/{id}/refund", 404, { userId: stranger });
		await eventually(
			async () =>
				(await api("GET", `/api/orders/${order.body.id}`, { userId })).body.status === "FINISHED",
			"the order to finish",
		);
		await expect("POST", refund, "/api/orders/{id}/refund", 202, { userId });
		await expect("POST", refund, "/api/orders/{id}/refund", 409, { userId });
		await expect("POST", refund, "/api/orders/{id}/refund", 422, {
			userId,
			headers: { "Idempotency-Key": "x".repeat(256) },
		});
		await expect("GET", "/api/orders/summary", "/api/orders/summary", 200, { userId });
		const anonymous = await expect("GET", "/api/accounts/me", "/api/accounts/me", 401);
		assert.deepEqual(
			anonymous.body,
			spec.paths["/api/accounts/me"].get.responses["401"].content["application/json"].examples
				.UNAUTHORIZED.value,
		);
	});

	it("When an order is accepted, then the 202 carries a Location header that reads the order back", async () => {
		const userId = newUserId();
		const res = await fetch(`${cluster.apiUrl}/api/orders`, {
			method: "POST",
			headers: { "X-User-ID": String(userId), "Content-Type": "application/json" },
			body: JSON.stringify({ amount: 7, description: "located" }),
		});
		const order = (await res.json()) as { id: string };

		assert.equal(res.status, 202);
		assert.equal(res.headers.get("location"), `/api/orders/${order.id}`);
		const again = await api("GET", res.headers.get("location")!, { userId });
		assert.equal(again.status, 200);
		assert.equal(again.body.id, order.id);
		assert.ok(
			spec.paths["/api/orders"].post.responses["202"].headers?.Location,
			"the document names the header",
		);
	});

	it("When /docs is opened, then Swagger UI loads from the gateway and reads /openapi.json", async () => {
		const page = await fetch(`${cluster.apiUrl}/docs`);
		assert.equal(page.status, 200);
		assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
		const html = await page.text();
		assert.match(html, /SwaggerUIBundle\(/);
		assert.match(html, /url: "\/openapi\.json"/);
		const assets = [...html.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map(m => m[1]);
		assert.ok(
			assets.includes("/docs/swagger-ui-bundle.js") && assets.includes("/docs/swagger-ui.css"),
		);
		for (const asset of assets) {
			const res = await fetch(cluster.apiUrl + asset);
			assert.equal(res.status, 200, asset);
			const type = res.headers.get("content-type") ?? "";
			if (asset.endsWith(".js")) assert.match(type, /javascript/);
			if (asset.endsWith(".css")) assert.match(type, /text\/css/);
			assert.ok((await res.arrayBuffer()).byteLength > 0);
		}
		const missing = await api("GET", "/docs/package.json");
		assert.equal(missing.status, 404);
		assert.equal(missing.body.type, "NOT_FOUND");
	});
});
