/**
 * A JSON-Schema validator for rjsf that never compiles code.
 *
 * rjsf's own `@rjsf/validator-ajv8` turns every schema into a function with
 * `new Function(...)`, which the pages' Content-Security-Policy (no 'unsafe-eval')
 * refuses. Node types' schemas arrive at run time from `/api/node-types/`, so they
 * cannot be precompiled at build time either. `@cfworker/json-schema` interprets the
 * schema instead; this adapter gives its results the shape rjsf expects
 * (`ValidatorType`), with messages a builder can read ("must be at most 300").
 * (`@rjsf/validator-ajv8` stays in package.json only because `@rjsf/core`'s test
 * registry imports it; nothing in the app does, and the bundle leaves it out.)
 */
import { Validator, type OutputUnit, type Schema } from "@cfworker/json-schema";
import {
  createErrorHandler,
  getDefaultFormState,
  toErrorSchema,
  unwrapErrorHandler,
  validationDataMerge,
  type CustomValidator,
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from "@rjsf/utils";

type Obj = Record<string, unknown>;

/** Keywords whose error only says that something below failed: the leaf says what. */
const WRAPPERS = new Set(["properties", "items", "prefixItems", "allOf", "$ref", "additionalItems",
  "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "dependentSchemas",
  "patternProperties", "$recursiveRef"]);

function pointer(root: unknown, location: string): unknown {
  // "#/properties/timeout_s/maximum" -> root.properties.timeout_s.maximum
  const parts = location.replace(/^#\/?/, "").split("/").filter((p) => p !== "");
  let cursor: unknown = root;
  for (const raw of parts) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    cursor = cursor && typeof cursor === "object" ? (cursor as Obj)[part] : undefined;
  }
  return cursor;
}

/** "#/a/0/b" -> ".a.0.b" (rjsf's property paths). */
function propertyPath(instanceLocation: string): string {
  const parts = instanceLocation.replace(/^#\/?/, "").split("/").filter((p) => p !== "");
  return parts.map((p) => "." + decodeURIComponent(p).replace(/~1/g, "/").replace(/~0/g, "~")).join("");
}

function plural(n: unknown, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function message(unit: OutputUnit, value: unknown): { text: string; property?: string } {
  switch (unit.keyword) {
    case "required": {
      const missing = /required property "(.*)"\.$/.exec(unit.error)?.[1];
      return { text: "is required", property: missing };
    }
    case "maximum": return { text: `must be at most ${value}` };
    case "minimum": return { text: `must be at least ${value}` };
    case "exclusiveMaximum": return { text: `must be less than ${value}` };
    case "exclusiveMinimum": return { text: `must be greater than ${value}` };
    case "maxLength": return { text: `must be at most ${plural(value, "character")}` };
    case "minLength": return { text: value === 1 ? "must not be empty" : `must be at least ${plural(value, "character")}` };
    case "maxItems": return { text: `must have at most ${plural(value, "item")}` };
    case "minItems": return { text: `must have at least ${plural(value, "item")}` };
    case "type": return { text: `must be ${Array.isArray(value) ? value.join(" or ") : value}` };
    case "enum": return { text: `must be one of ${(value as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "const": return { text: `must be ${JSON.stringify(value)}` };
    case "pattern": return { text: `must match ${value}` };
    case "format": return { text: `must be a valid ${value}` };
    case "multipleOf": return { text: `must be a multiple of ${value}` };
    case "uniqueItems": return { text: "must not repeat items" };
    case "false": return { text: "is not a known setting" };  // additionalProperties: false
    default: return { text: unit.error };
  }
}

/** The leaf errors of a cfworker result, as rjsf validation errors. */
export function toRjsfErrors(units: OutputUnit[], schema: unknown): RJSFValidationError[] {
  const errors: RJSFValidationError[] = [];
  for (const unit of units) {
    if (WRAPPERS.has(unit.keyword)) continue;
    const value = pointer(schema, unit.keywordLocation);
    const { text, property: child } = message(unit, value);
    let property = propertyPath(unit.instanceLocation);
    if (child !== undefined) property = `${property}.${child}`;
    errors.push({
      name: unit.keyword,
      property,
      message: text,
      params: { value },
      stack: `${property.replace(/^\./, "") || "value"} ${text}`,
      schemaPath: unit.keywordLocation,
    });
  }
  return errors;
}

export class InterpretingValidator<T = unknown, S extends RJSFSchema = RJSFSchema>
  implements ValidatorType<T, S> {
  /** One cfworker Validator per schema object (schemas are immutable here). */
  private cache = new WeakMap<object, Validator>();

  private validatorFor(schema: S, rootSchema?: S): Validator {
    const key = schema as object;
    let v = this.cache.get(key);
    if (!v) {
      // Sub-schemas checked by rjsf (anyOf options...) may $ref the root's $defs.
      const withDefs = rootSchema && rootSchema !== schema && (rootSchema.$defs || rootSchema.definitions)
        ? { ...schema, $defs: rootSchema.$defs, definitions: rootSchema.definitions }
        : schema;
      v = new Validator(withDefs as Schema, "2020-12", false);
      this.cache.set(key, v);
    }
    return v;
  }

  rawValidation<Result = unknown>(schema: S, formData?: T): { errors?: Result[]; validationError?: Error } {
    try {
      const result = this.validatorFor(schema).validate(formData);
      return { errors: (result.valid ? undefined : result.errors) as Result[] | undefined };
    } catch (err) {
      return { validationError: err as Error };
    }
  }

  validateFormData(
    formData: T | undefined,
    schema: S,
    customValidate?: CustomValidator<T, S>,
    transformErrors?: ErrorTransformer<T, S>,
    uiSchema?: UiSchema<T, S>,
  ): ValidationData<T> {
    const raw = this.rawValidation<OutputUnit>(schema, formData);
    let errors = toRjsfErrors(raw.errors ?? [], schema);
    if (raw.validationError) errors.push({ stack: raw.validationError.message } as RJSFValidationError);
    if (typeof transformErrors === "function") errors = transformErrors(errors, uiSchema);
    const errorSchema = toErrorSchema<T>(errors);
    if (typeof customValidate !== "function") return { errors, errorSchema };
    const full = getDefaultFormState<T, S>(this, schema, formData, schema, true) as T;
    const handler = customValidate(full, createErrorHandler<T>(full), uiSchema, errorSchema);
    return validationDataMerge<T>({ errors, errorSchema }, unwrapErrorHandler<T>(handler));
  }

  isValid(schema: S, formData: T | undefined, rootSchema: S): boolean {
    try {
      return this.validatorFor(schema, rootSchema).validate(formData).valid;
    } catch {
      return false;
    }
  }

  reset() {
    this.cache = new WeakMap();
  }
}

export const cspSafeValidator = new InterpretingValidator();
