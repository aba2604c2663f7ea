/**
 * JSON Schema helpers of the OpenAPI document. `objectSchema<T>()` ties a response schema to
 * the one TypeScript definition of what the code returns, so the two cannot drift apart: tsc
 * fails when a field is added, removed, made optional or retyped in T and not in the schema.
 */

/** A JSON Schema object as OpenAPI 3.0 uses it. */
export type Schema = Record<string, unknown>;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const json = (schema: Schema, extra: Record<string, unknown> = {}) => ({
	"application/json": { schema, ...extra },
});

/** The keys of T that are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/** The members of T that the list lacks, as a readable compile error; unknown when none. */
type Complete<T, Listed> = [Exclude<T, Listed>] extends [never]
	? unknown
	: { missing: Exclude<T, Listed> };

/** The schema of a field of type V: its JSON type (and enum) must fit V; objects and arrays are not looked into. */
type FieldSchema<V> = [V] extends [string]
	? { type: "string"; enum?: readonly V[] } & Schema
	: [V] extends [number]
		? { type: "integer" | "number" } & Schema
		: [V] extends [boolean]
			? { type: "boolean" } & Schema
			: Schema;

/** The object schema of T, checked against T (see the file's comment); the rest of it is free. */
export const objectSchema =
	<T>() =>
	<const R extends readonly RequiredKeys<T>[]>(
		schema: Schema & {
			type: "object";
			required: R & Complete<RequiredKeys<T>, R[number]>;
			properties: { [K in keyof T]-?: FieldSchema<NonNullable<T[K]>> };
		},
	): Schema =>
		schema;

/** Every member of the string union T, for an enum: tsc fails when T gains or loses one. */
export const allOf =
	<T extends string>() =>
	<const A extends readonly T[]>(values: A & Complete<T, A[number]>): readonly T[] =>
		values;
