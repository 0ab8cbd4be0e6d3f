import { describe, expect, it } from "vitest";
import { showContext } from "./contextFormat";

const show = (value: unknown, kind?: string) => showContext({ label: "x", value, kind }, "en-US");

describe("showContext", () => {
  it("shows text as text and numbers formatted", () => {
    expect(show("Printer on fire", "text")).toEqual({ type: "text", text: "Printer on fire" });
    expect(show(1234567.5, "number")).toEqual({ type: "text", text: "1,234,567.5" });
    expect(show("42", "number")).toEqual({ type: "text", text: "42" });
  });

  it("shows percents from fractions and from whole numbers", () => {
    expect(show(0.125, "percent")).toEqual({ type: "text", text: "12.5%" });
    expect(show(40, "percent")).toEqual({ type: "text", text: "40%" });
  });

  it("shows a confidence as a bar with its percent, clamped", () => {
    expect(show(0.87, "confidence")).toEqual({ type: "bar", fraction: 0.87, text: "87%" });
    expect(show(1.7, "confidence")).toMatchObject({ fraction: 0.017 });
    expect(show(250, "confidence")).toMatchObject({ fraction: 1, text: "100%" });
  });

  it("links only http(s) addresses", () => {
    expect(show("https://example.com/t/1", "link")).toEqual({ type: "link", href: "https://example.com/t/1", text: "https://example.com/t/1" });
    expect(show("javascript:alert(1)", "link")).toEqual({ type: "text", text: "javascript:alert(1)" });
  });

  it("shows lists as lists and lists of objects as tables", () => {
    expect(show(["a", 2000], "list")).toEqual({ type: "list", items: ["a", "2,000"] });
    expect(show([{ sku: "A", qty: 2 }, { sku: "B", price: 3 }], "table")).toEqual({
      type: "table",
      columns: ["sku", "qty", "price"],
      rows: [
        ["A", "2", "—"],
        ["B", "—", "3"],
      ],
    });
    expect(show([{ sku: "A" }], "list")).toMatchObject({ type: "table" });
  });

  it("shows raw JSON only for objects", () => {
    expect(show({ a: 1 }, "object")).toEqual({ type: "json", text: '{\n  "a": 1\n}' });
    expect(show("plain", "object")).toEqual({ type: "text", text: "plain" });
    expect(show({ a: 1 })).toMatchObject({ type: "json" });
  });

  it("shows an empty value as empty", () => {
    expect(show(null, "text")).toEqual({ type: "empty" });
    expect(show("", "number")).toEqual({ type: "empty" });
  });
});
