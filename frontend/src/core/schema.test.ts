import { describe, expect, it } from "vitest";
import { defaultsFromSchema, hasTemplate, isCelSchema, normalizeSchema, resolveRef } from "./schema";

const pydantic = {
  $defs: { Retry: { type: "object", properties: { attempts: { type: "integer", default: 3 } } } },
  type: "object",
  properties: {
    url: { type: "string", title: "URL" },
    method: { type: "string", enum: ["GET", "POST"], default: "GET" },
    retry: { $ref: "#/$defs/Retry" },
    credential: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Credential", "x-weft-widget": "credential" },
    headers: { type: "object", additionalProperties: { type: "string" }, title: "Headers" },
  },
  required: ["url", "retry"],
};

describe("config schema helpers", () => {
  it("collects defaults, following $ref into required nested objects", () => {
    expect(defaultsFromSchema(pydantic)).toEqual({ method: "GET", retry: { attempts: 3 }, credential: null });
  });

  it("turns optional anyOf fields into one nullable field with the outer hints", () => {
    const s = normalizeSchema(pydantic) as { properties: Record<string, Record<string, unknown>> };
    expect(s.properties.credential).toEqual({ type: ["string", "null"], default: null, title: "Credential", "x-weft-widget": "credential" });
    expect(s.properties.url).toEqual({ type: "string", title: "URL" });
  });

  it("gives a referenced group the field's own default, which the form then shows", async () => {
    const { getDefaultFormState } = await import("@rjsf/utils");
    const { cspSafeValidator } = await import("../features/inspector/validator");
    const schema = normalizeSchema({
      ...pydantic,
      properties: { ...pydantic.properties, retry: { $ref: "#/$defs/Retry", default: { attempts: 5 }, title: "Retry" } },
    }) as { properties: Record<string, Record<string, unknown>> };
    expect(schema.properties.retry).toMatchObject({ type: "object", title: "Retry", properties: { attempts: { type: "integer", default: 5 } } });
    expect(schema.properties.retry.$ref).toBeUndefined();
    // What the form fills in for a node saved without the group: the field's default.
    const filled = getDefaultFormState(cspSafeValidator, schema as never, { url: "https://x" }, schema as never) as Record<string, unknown>;
    expect(filled.retry).toEqual({ attempts: 5 });
  });

  it("resolves local references", () => {
    expect(resolveRef(pydantic, { $ref: "#/$defs/Retry", title: "Retry" })).toMatchObject({ type: "object", title: "Retry" });
  });

  it("recognises CEL fields and templates", () => {
    expect(isCelSchema({ type: "string", format: "cel" })).toBe(true);
    expect(isCelSchema({ type: "string", "x-weft-widget": "cel" })).toBe(true);
    expect(isCelSchema({ type: "string" })).toBe(false);
    expect(hasTemplate("Hello {{ input.name }}")).toBe(true);
    expect(hasTemplate("Hello {name}")).toBe(false);
    expect(hasTemplate(3)).toBe(false);
  });
});
