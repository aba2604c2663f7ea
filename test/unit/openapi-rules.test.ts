import { strict as assert } from "assert";
import { Validators } from "moleculer";
import { actionParams, type Rule } from "../../lib/action-params";
import { paramsToSchema, ruleToSchema } from "../../services/api/openapi/rules";
import { devTokenParams } from "../../services/api/auth.mixin";

describe("OpenAPI: fastest-validator rules → JSON Schema", () => {
	it("When a rule uses a type the converter does not know, then it throws naming the type", () => {
		for (const type of ["email", "url", "date", "multi", "forbidden", "any", "object", "array"])
			assert.throws(
				() => ruleToSchema({ type } as unknown as Rule),
				new RegExp(`rule type '${type}' is not supported`),
			);
	});

	it("When a rule is a shorthand string or a list of rules, then it throws", () => {
		assert.throws(() => ruleToSchema("number|min:1" as unknown as Rule), /not a rule object/);
		assert.throws(() => ruleToSchema([{ type: "number" }] as unknown as Rule), /not a rule object/);
		assert.throws(
			() => paramsToSchema({ $$strict: true } as unknown as Record<string, Rule>),
			/not a rule object/,
		);
	});

	it("When a known type carries a property the converter would ignore, then it throws naming it", () => {
		assert.throws(
			() => ruleToSchema({ type: "string", enum: ["a"] } as unknown as Rule),
			/property 'enum' of a string rule/,
		);
		assert.throws(
			() => ruleToSchema({ type: "number", default: 5 } as unknown as Rule),
			/property 'default' of a number rule/,
		);
		assert.throws(
			() => ruleToSchema({ type: "uuid", min: 1 } as unknown as Rule),
			/property 'min' of a uuid rule/,
		);
	});

	it("When the known rules are converted, then each schema says what the rule checks", () => {
		assert.deepEqual(
			ruleToSchema({ type: "number", integer: true, min: 1, max: 9, convert: false }),
			{
				type: "integer",
				minimum: 1,
				maximum: 9,
			},
		);
		assert.deepEqual(ruleToSchema({ type: "number", positive: true }), {
			type: "number",
			minimum: 0,
			exclusiveMinimum: true,
		});
		assert.deepEqual(
			ruleToSchema({ type: "string", trim: true, min: 1, max: 5, pattern: /^a+$/, messages: {} }),
			{
				type: "string",
				minLength: 1,
				maxLength: 5,
				pattern: "^a+$",
				description: "Leading and trailing whitespace is trimmed.",
			},
		);
		assert.deepEqual(
			paramsToSchema({ id: { type: "uuid" }, limit: { type: "number", optional: true } }),
			{
				type: "object",
				properties: { id: { type: "string", format: "uuid" }, limit: { type: "number" } },
				required: ["id"],
			},
		);
	});

	it("When the actions' own params are converted, then none is refused, and each schema's bounds are the validator's", () => {
		const validator = new Validators.Fastest();
		for (const params of [...Object.values(actionParams), devTokenParams])
			for (const [field, rule] of Object.entries(params)) {
				const schema = ruleToSchema(rule);
				const accepts = (value: unknown) => {
					try {
						return validator.validate({ [field]: value }, { [field]: { ...rule } });
					} catch {
						return false;
					}
				};
				if (typeof schema.minimum === "number" && !schema.exclusiveMinimum) {
					assert.ok(accepts(schema.minimum), `${field}: the minimum is accepted`);
					assert.ok(!accepts(schema.minimum - 1), `${field}: below the minimum is refused`);
				}
				if (typeof schema.maximum === "number") {
					assert.ok(accepts(schema.maximum), `${field}: the maximum is accepted`);
					assert.ok(!accepts(schema.maximum + 1), `${field}: above the maximum is refused`);
				}
			}
	});
});
