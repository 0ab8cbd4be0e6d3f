import { describe, expect, it } from "vitest";
import { buildUiSchema, problemsToErrorSchema } from "./schemaUi";

describe("config form ui schema", () => {
  it("gives free-form JSON a JSON editor and leaves typed fields alone", () => {
    const ui = buildUiSchema({
      type: "object",
      properties: {
        sample_input: { type: "object", additionalProperties: true },
        anything: {},
        url: { type: "string" },
        tags: { type: "array", items: { type: "string" } },
        nested: { type: "object", properties: { body: { type: "object" }, n: { type: "integer" } } },
        prompt: { type: "string", "x-weft-widget": "textarea" },
      },
    });
    expect(ui.sample_input).toEqual({ "ui:field": "json" });
    expect(ui.anything).toEqual({ "ui:field": "json" });
    expect(ui.url).toBeUndefined();
    expect(ui.tags).toBeUndefined();
    expect(ui.nested).toEqual({ body: { "ui:field": "json" } });
    expect(ui.prompt).toEqual({ "ui:widget": "textarea" });
    const choice = buildUiSchema({ type: "object", properties: { on_error: { enum: ["fail", "error_port"], "x-weft-enum-labels": ["Stop the run", "Continue"] } } });
    expect(choice.on_error).toEqual({ "ui:enumNames": ["Stop the run", "Continue"] });
    expect(ui["ui:submitButtonOptions"]).toEqual({ norender: true });
  });

  it("puts server problems on the fields they name", () => {
    const errors = problemsToErrorSchema([
      { field: "config.retry.attempts", message: "Node 'a', field 'retry.attempts': Input should be a valid integer.", severity: "error" },
      { field: "config", message: "Condition is not valid CEL", severity: "error" },
      { field: "config.url", message: `Node "Bob's call", field 'url': Field required.`, severity: "error" },
      { field: "type", message: "ignored", severity: "error" },
    ]);
    expect(errors).toEqual({
      retry: { attempts: { __errors: ["Input should be a valid integer."] } },
      url: { __errors: ["Field required."] },
      __errors: ["Condition is not valid CEL"],
    });
  });
});
