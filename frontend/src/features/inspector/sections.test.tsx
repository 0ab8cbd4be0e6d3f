// @vitest-environment jsdom
import Form from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import { fireEvent, render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { buildUiSchema } from "./schemaUi";
import { CollapsedSection, sectionSummary } from "./sections";
import { cspSafeValidator } from "./validator";

// The shape a node type's config schema has (apps/nodes/base.py: ExecutionPolicy).
const schema = {
  type: "object",
  $defs: {
    Policy: {
      type: "object",
      title: "Failure policy",
      "x-weft-collapsed": true,
      properties: {
        retries: { type: "integer", title: "Retries", default: 0 },
        on_error: {
          type: "string", title: "On error", default: "fail", enum: ["fail", "error_port", "default_output"],
          "x-weft-enum-labels": ["Stop the run", "Continue on the 'On error' port", "Continue with the default output"],
        },
      },
    },
  },
  properties: {
    url: { type: "string", title: "URL" },
    policy: { $ref: "#/$defs/Policy", default: { retries: 0, on_error: "fail" } },
  },
} as RJSFSchema;

function drawn(formData: Record<string, unknown>) {
  return render(
    <Form schema={schema} uiSchema={buildUiSchema(schema as never)} formData={formData}
      validator={cspSafeValidator} templates={{ CollapsedSection }} />,
  ).container;
}

describe("a settings group folded away until wanted", () => {
  it("is closed at its defaults, its heading saying what it is set to", () => {
    const container = drawn({ url: "https://api.example.com", policy: { retries: 2, on_error: "fail" } });
    const section = container.querySelector("details.form-section") as HTMLDetailsElement;
    expect(section).not.toBeNull();
    expect(section.open).toBe(false);
    expect(section.querySelector("summary")?.textContent).toBe("Failure policyStop the run, 2 retries");
    // The other settings stay outside it.
    expect(section.querySelector("input#root_url")).toBeNull();
    fireEvent.click(section.querySelector("summary") as HTMLElement);
    expect(section.querySelector("select")).not.toBeNull();
  });

  it("opens by itself where it is set to continue", () => {
    const container = drawn({ policy: { retries: 0, on_error: "error_port" } });
    const section = container.querySelector("details.form-section") as HTMLDetailsElement;
    expect(section.open).toBe(true);
    expect(section.querySelector("summary")?.textContent).toContain("Continue on the 'On error' port, 0 retries");
  });

  it("words a group without data by its defaults", () => {
    const policy = (schema.$defs as Record<string, Record<string, unknown>>).Policy;
    expect(sectionSummary(policy, undefined)).toEqual({ words: "Stop the run, 0 retries", changed: false });
    expect(sectionSummary(policy, { on_error: "default_output", retries: 1 })).toEqual(
      { words: "Continue with the default output, 1 retry", changed: true });
  });
});
