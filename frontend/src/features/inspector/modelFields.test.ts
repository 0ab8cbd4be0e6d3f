import { describe, expect, it } from "vitest";
import { createApi } from "../../infrastructure/api";
import { inputRows, tensorLabel } from "./modelFields";
import { buildUiSchema } from "./schemaUi";

const spec = {
  server: "local", name: "ticket_urgency", versions: ["1"], platform: "python", max_batch_size: 64, labels: ["low", "high"],
  inputs: [
    { name: "text", datatype: "BYTES", shape: [1], optional: false },
    { name: "features", datatype: "FP32", shape: [-1, 8], optional: true },
  ],
  outputs: [{ name: "label", datatype: "BYTES", shape: [1], optional: false }],
};

describe("the inference node's inputs", () => {
  it("get their own field instead of a JSON box", () => {
    const ui = buildUiSchema({
      type: "object",
      properties: { inputs: { type: "object", additionalProperties: { type: "string" }, "x-weft-widget": "cel", "x-weft-field": "model-inputs" } },
    });
    expect(ui.inputs).toEqual({ "ui:field": "modelInputs" });
  });

  it("are one expression per model input, then stored ones the model does not have", () => {
    const rows = inputRows(spec, { stale: "input.old", text: "input.subject" });
    expect(rows.map((r) => r.name)).toEqual(["text", "features", "stale"]);
    expect(rows[0].tensor?.datatype).toBe("BYTES");
    expect(rows[2].tensor).toBeUndefined();
    // Before the model's metadata arrives: what is stored.
    expect(inputRows(undefined, { text: "input.subject" }).map((r) => r.name)).toEqual(["text"]);
  });

  it("show datatypes and shapes in words", () => {
    expect(tensorLabel(spec.inputs[0])).toBe("BYTES [1]");
    expect(tensorLabel(spec.inputs[1])).toBe("FP32 [any × 8]");
    expect(tensorLabel({ datatype: "INT64", shape: [] })).toBe("INT64 [scalar]");
  });

  it("are read from the server's model routes", async () => {
    const urls: string[] = [];
    const api = createApi("/api", async (url) => {
      urls.push(url);
      return new Response(JSON.stringify({ results: [], models: [] }), { status: 200 });
    });
    await api.listTritonServers();
    await api.listTritonModels(3);
    await api.getTritonModel(3, "ticket urgency", "2");
    await api.getTritonModel(3, "echo");
    expect(urls).toEqual([
      "/api/inference/servers/?page_size=100",
      "/api/inference/servers/3/models/",
      "/api/inference/servers/3/models/ticket%20urgency/?version=2",
      "/api/inference/servers/3/models/echo/",
    ]);
  });
});
