import { describe, expect, it } from "vitest";
import type { RJSFSchema } from "@rjsf/utils";
import { cspSafeValidator } from "./validator";

const HTTP: RJSFSchema = {
  type: "object",
  additionalProperties: false,
  required: ["url"],
  properties: {
    url: { type: "string", minLength: 1, maxLength: 4000 },
    method: { type: "string", enum: ["GET", "POST"], default: "GET" },
    timeout_s: { type: "number", exclusiveMinimum: 0, maximum: 300, default: 30 },
    retries: { type: "integer", minimum: 0, maximum: 5 },
    child: { anyOf: [{ $ref: "#/$defs/Id" }, { type: "null" }] },
  },
  $defs: { Id: { type: "string", format: "uuid" } },
};

describe("the CSP-safe form validator", () => {
  it("reports each broken field with a readable message", () => {
    const { errors, errorSchema } = cspSafeValidator.validateFormData(
      { timeout_s: 500, retries: -1, method: "PUT", extra: 1, child: "nope" }, HTTP);
    const byField = Object.fromEntries(errors.map((e) => [e.property, e.message]));
    expect(byField).toMatchObject({
      ".url": "is required",
      ".timeout_s": "must be at most 300",
      ".retries": "must be at least 0",
      ".method": 'must be one of "GET", "POST"',
      ".extra": "is not a known setting",
    });
    expect(errorSchema).toMatchObject({ timeout_s: { __errors: ["must be at most 300"] } });
  });

  it("passes valid data, follows $refs and answers isValid for rjsf's option matching", () => {
    const ok = { url: "https://x", timeout_s: 30, child: "0b7c5e7e-6d1a-4b84-9f1e-2d0c9a1e4b11" };
    expect(cspSafeValidator.validateFormData(ok, HTTP).errors).toEqual([]);
    expect(cspSafeValidator.isValid({ $ref: "#/$defs/Id" }, "not-a-uuid", HTTP)).toBe(false);
    expect(cspSafeValidator.isValid({ type: "null" }, null, HTTP)).toBe(true);
  });

  it("never compiles code (no Function constructor, no eval)", () => {
    const original = globalThis.Function;
    const refuse = () => {
      throw new EvalError("code generation refused");
    };
    globalThis.Function = refuse as unknown as FunctionConstructor;
    const evalOriginal = globalThis.eval;
    globalThis.eval = refuse;
    try {
      cspSafeValidator.reset();
      expect(cspSafeValidator.validateFormData({ url: "" }, HTTP).errors[0].message).toBe("must not be empty");
    } finally {
      globalThis.Function = original;
      globalThis.eval = evalOriginal;
    }
  });
});
