/**
 * Builds the rjsf uiSchema for a node type's config schema. Free-form JSON (objects
 * without declared properties, untyped values) gets a JSON editor; everything else uses
 * the standard widgets (a field with `x-weft-field` gets its own component), with CEL, template and credential fields recognised by the
 * widgets themselves from the schema.
 */
import { resolveRef } from "../../core/schema";
import type { JsonSchema } from "../../core/types";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

export function isFreeForm(root: JsonSchema, schema: Obj): boolean {
  const s = resolveRef(root, schema);
  if (s.enum || s.const !== undefined || s.oneOf || s.anyOf || s.allOf) return false;
  const types = Array.isArray(s.type) ? (s.type as string[]).filter((t) => t !== "null") : s.type ? [s.type as string] : [];
  if (types.length === 0) return true;
  if (types.length > 1) return true;
  if (types[0] === "object") return !isObj(s.properties) || Object.keys(s.properties).length === 0;
  if (types[0] === "array") {
    const items = isObj(s.items) ? resolveRef(root, s.items) : null;
    return !items || (!items.type && !items.enum && !items.$ref);
  }
  return false;
}

/** Fields drawn by a component of their own (`x-weft-field`), by the form's field name. */
const FIELDS: Record<string, string> = { "model-inputs": "modelInputs" };

export function buildUiSchema(root: JsonSchema): Obj {
  const walk = (schema: Obj, depth: number): Obj => {
    const s = resolveRef(root, schema);
    const ui: Obj = {};
    if (depth > 6 || !isObj(s.properties)) return ui;
    for (const [key, prop] of Object.entries(s.properties)) {
      if (!isObj(prop)) continue;
      const field = FIELDS[String(resolveRef(root, prop)["x-weft-field"] ?? "")];
      if (field) ui[key] = { "ui:field": field };
      else if (isFreeForm(root, prop)) ui[key] = { "ui:field": "json" };
      else {
        const child = walk(prop, depth + 1);
        const resolved = resolveRef(root, prop);
        if (resolved["x-weft-widget"] === "textarea") child["ui:widget"] = "textarea";
        // Choices in words ("Stop the run") where the stored value is a code ("fail").
        if (Array.isArray(resolved["x-weft-enum-labels"])) child["ui:enumNames"] = resolved["x-weft-enum-labels"];
        // A group folded away until wanted, its heading saying what it is set to.
        if (resolved["x-weft-collapsed"] === true) child["ui:ObjectFieldTemplate"] = "CollapsedSection";
        if (Object.keys(child).length) ui[key] = child;
      }
    }
    return ui;
  };
  return { ...walk(root, 0), "ui:submitButtonOptions": { norender: true } };
}

/** Server problems with `field: "config.a.b"` as an rjsf ErrorSchema. */
export function problemsToErrorSchema(problems: { field?: string; message: string; severity: string }[]): Obj {
  const out: Obj = {};
  for (const p of problems) {
    if (!p.field || !(p.field === "config" || p.field.startsWith("config."))) continue;
    const path = p.field === "config" ? [] : p.field.slice("config.".length).split(".");
    let cursor = out;
    for (const part of path) {
      cursor[part] = isObj(cursor[part]) ? cursor[part] : {};
      cursor = cursor[part] as Obj;
    }
    const errors = (cursor.__errors as string[] | undefined) ?? [];
    // The server's message repeats the node and field; keep the useful part.
    errors.push(p.message.replace(/^Node (?:'[^']*'|"[^"]*"), field '[^']*': /, ""));
    cursor.__errors = errors;
  }
  return out;
}
