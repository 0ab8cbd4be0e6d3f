/**
 * Small JSON-Schema helpers for the config forms. The schemas come from pydantic, so
 * they may use `$defs`/`$ref` and `anyOf: [X, {type: "null"}]` for optional fields.
 */
import type { JsonSchema } from "./types";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Follows a local `#/$defs/Name` (or `#/definitions/Name`) reference. */
export function resolveRef(root: JsonSchema, schema: Obj): Obj {
  let current = schema;
  for (let guard = 0; guard < 20 && typeof current.$ref === "string"; guard++) {
    const path = (current.$ref as string).replace(/^#\//, "").split("/");
    let target: unknown = root;
    for (const part of path) target = isObj(target) ? target[part] : undefined;
    if (!isObj(target)) break;
    const { $ref: _ignored, ...rest } = current;
    current = { ...target, ...rest };
  }
  return current;
}

/**
 * Rewrites pydantic's `anyOf: [X, {"type": "null"}]` as X allowing null, keeping the
 * outer title/description/default and our `x-weft-*` hints. Forms then show one plain
 * field instead of a "choose an option" selector.
 */
export function normalizeSchema(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isObj(node)) return node;
    const out: Obj = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v);
    const anyOf = out.anyOf;
    if (Array.isArray(anyOf) && anyOf.length === 2) {
      const nonNull = anyOf.filter((s) => !(isObj(s) && s.type === "null"));
      if (nonNull.length === 1 && isObj(nonNull[0])) {
        const inner = nonNull[0];
        const { anyOf: _drop, ...outer } = out;
        const merged: Obj = { ...inner, ...outer };
        if (typeof inner.type === "string") merged.type = [inner.type, "null"];
        return merged;
      }
    }
    return out;
  };
  const root = walk(schema) as Obj;
  return inlineOwnDefaults(root, root, 0) as JsonSchema;
}

/**
 * A field that names a shared definition (`$ref`) and has a default of its own gets the
 * definition inlined, that default spread over the definition's fields: rjsf fills a
 * `$ref` field from the definition's field defaults and ignores the field's own, so an
 * HTTP request's failure policy (2 retries) would show, and be saved, as the shared
 * policy's (none).
 */
function inlineOwnDefaults(root: Obj, schema: Obj, depth: number): Obj {
  if (depth > 6 || !isObj(schema.properties)) return schema;
  const properties: Obj = {};
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (!isObj(prop)) {
      properties[key] = prop;
    } else if (typeof prop.$ref === "string" && isObj(prop.default)) {
      const resolved = resolveRef(root, prop);
      const own = prop.default;
      const fields = isObj(resolved.properties) ? resolved.properties : {};
      properties[key] = {
        ...resolved,
        properties: Object.fromEntries(Object.entries(fields).map(([name, field]) =>
          [name, isObj(field) && name in own ? { ...field, default: own[name] } : field])),
      };
    } else {
      properties[key] = inlineOwnDefaults(root, prop, depth + 1);
    }
  }
  return { ...schema, properties };
}

/** The config a new node starts with: the schema's defaults, nested objects included. */
export function defaultsFromSchema(root: JsonSchema): Record<string, unknown> {
  const build = (schema: Obj, depth: number): unknown => {
    const s = resolveRef(root, schema);
    if ("default" in s) return structuredClone(s.default);
    if (depth > 5) return undefined;
    if (s.type === "object" && isObj(s.properties)) {
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const out: Obj = {};
      for (const [key, prop] of Object.entries(s.properties)) {
        if (!isObj(prop)) continue;
        const value = build(prop, depth + 1);
        const resolved = resolveRef(root, prop);
        if (value !== undefined && ("default" in resolved || (required.has(key) && resolved.type === "object"))) {
          out[key] = value;
        }
      }
      return out;
    }
    return undefined;
  };
  const value = build(root, 0);
  return isObj(value) ? value : {};
}

/** Whether a property holds a CEL expression (checked as you type). */
export function isCelSchema(schema: Obj): boolean {
  return schema.format === "cel" || schema["x-weft-widget"] === "cel";
}

export function isCredentialSchema(schema: Obj): boolean {
  return schema["x-weft-widget"] === "credential";
}

/** Whether a string holds a `{{ expression }}` template. */
export function hasTemplate(value: unknown): value is string {
  return typeof value === "string" && /\{\{[\s\S]*?\}\}/.test(value);
}
