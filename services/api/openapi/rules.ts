/**
 * fastest-validator rules → JSON Schema (the OpenAPI 3.0 dialect), for the rule types our
 * params use (lib/action-params.ts). Any other type or property throws: a rule the document
 * could not describe faithfully stops the gateway's start instead of being documented wrong.
 */
import type { Params, Rule } from "../../../lib/action-params";
import type { Schema } from "./json-schema";

/** Properties that change nothing JSON Schema can say (how input is converted, error texts). */
const IGNORED = ["convert", "messages"];
/** What each type may carry, besides `type`, `optional` and the ignored ones. */
const KNOWN: Record<Rule["type"], string[]> = {
	number: ["integer", "positive", "min", "max"],
	string: ["trim", "min", "max", "pattern"],
	uuid: [],
};

function check(rule: Rule): void {
	if (!rule || typeof rule !== "object" || Array.isArray(rule))
		throw new Error(
			`openapi: rule ${JSON.stringify(rule)} is not a rule object (shorthands and multi-rules are not supported)`,
		);
	if (!Object.hasOwn(KNOWN, rule.type))
		throw new Error(
			`openapi: rule type '${rule.type}' is not supported (only ${Object.keys(KNOWN).join(", ")}); extend services/api/openapi/rules.ts`,
		);
	const known = KNOWN[rule.type];
	for (const key of Object.keys(rule))
		if (key !== "type" && key !== "optional" && !IGNORED.includes(key) && !known.includes(key))
			throw new Error(
				`openapi: property '${key}' of a ${rule.type} rule is not supported; extend services/api/openapi/rules.ts`,
			);
}

export function isOptional(rule: Rule): boolean {
	check(rule);
	return rule.optional === true;
}

/** The JSON Schema that accepts what the rule accepts. */
export function ruleToSchema(rule: Rule): Schema {
	check(rule);
	const s: Schema = {};
	switch (rule.type) {
		case "number":
			s.type = rule.integer ? "integer" : "number";
			if (rule.min !== undefined) s.minimum = rule.min;
			if (rule.max !== undefined) s.maximum = rule.max;
			if (rule.positive) Object.assign(s, { minimum: 0, exclusiveMinimum: true });
			break;
		case "string":
			s.type = "string";
			if (rule.min !== undefined) s.minLength = rule.min;
			if (rule.max !== undefined) s.maxLength = rule.max;
			if (rule.pattern !== undefined) s.pattern = rule.pattern.source;
			if (rule.trim) s.description = "Leading and trailing whitespace is trimmed.";
			break;
		case "uuid":
			Object.assign(s, { type: "string", format: "uuid" });
			break;
	}
	return s;
}

/** The object schema of a whole `params` block: properties and the required ones. */
export function paramsToSchema(params: Params): Schema {
	const fields = Object.entries(params);
	const properties = Object.fromEntries(fields.map(([k, rule]) => [k, ruleToSchema(rule)]));
	const required = fields.filter(([, rule]) => !isOptional(rule)).map(([k]) => k);
	const s: Schema = { type: "object", properties };
	if (required.length) s.required = required;
	return s;
}
