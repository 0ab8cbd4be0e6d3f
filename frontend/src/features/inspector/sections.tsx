/**
 * A settings group folded away until wanted (`x-weft-collapsed` in the schema, such as a
 * node's failure policy): its heading says what it is set to ("Stop the run, 2 retries"),
 * so the form stays short and the data panel below it in view. It opens by itself when
 * it is set to something other than its first choice or holds an error.
 */
import { getDefaultRegistry } from "@rjsf/core";
import type { ObjectFieldTemplateProps } from "@rjsf/utils";
import { useState } from "react";

const Stock = getDefaultRegistry().templates.ObjectFieldTemplate;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function hasErrors(errors: unknown): boolean {
  if (!isObj(errors)) return false;
  return Object.entries(errors).some(([key, value]) =>
    key === "__errors" ? Array.isArray(value) && value.length > 0 : hasErrors(value));
}

/** What the group is set to, in the words its choices use. */
export function sectionSummary(schema: Obj, data: unknown): { words: string; changed: boolean } {
  const values = isObj(data) ? data : {};
  const properties = isObj(schema.properties) ? schema.properties : {};
  const words: string[] = [];
  let changed = false;
  for (const [key, prop] of Object.entries(properties)) {
    if (!isObj(prop)) continue;
    const choices = Array.isArray(prop.enum) ? prop.enum : null;
    const labels = Array.isArray(prop["x-weft-enum-labels"]) ? (prop["x-weft-enum-labels"] as string[]) : null;
    if (choices && labels) {
      const value = values[key] ?? prop.default ?? choices[0];
      const at = choices.indexOf(value);
      words.push(at >= 0 ? labels[at] ?? String(value) : String(value));
      if (at > 0) changed = true;
    }
  }
  const retries = values.retries ?? (isObj(properties.retries) ? properties.retries.default : undefined);
  if (typeof retries === "number") words.push(retries === 1 ? "1 retry" : `${retries} retries`);
  return { words: words.join(", "), changed };
}

export function CollapsedSection(props: ObjectFieldTemplateProps) {
  const { title, schema, formData, errorSchema } = props;
  const { words, changed } = sectionSummary(schema as Obj, formData);
  // Open while it holds an error; else as the builder left it, at first when it is set
  // to something other than its first choice.
  const flagged = hasErrors(errorSchema);
  const [open, setOpen] = useState(changed);
  return (
    <details
      className="form-section"
      open={open || flagged}
      onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary>
        <span className="form-section-title">{title}</span>
        {words ? <span className="form-section-summary">{words}</span> : null}
      </summary>
      <Stock {...props} title="" />
    </details>
  );
}
