// @vitest-environment jsdom
import Form from "@rjsf/core";
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { buttonTemplates } from "./buttons";
import { cspSafeValidator } from "./validator";

describe("array buttons in config forms", () => {
  it("draw an icon and a name people read, not a missing icon font", () => {
    const schema = {
      type: "object" as const,
      properties: { cases: { type: "array" as const, title: "Cases", items: { type: "object" as const, title: "Case", properties: { label: { type: "string" as const, title: "Label" } } } } },
    };
    const { container } = render(
      <Form schema={schema} formData={{ cases: [{ label: "a" }, { label: "b" }] }} validator={cspSafeValidator} templates={{ ButtonTemplates: buttonTemplates }} />,
    );
    expect(container.querySelector(".glyphicon")).toBeNull();
    const remove = screen.getAllByRole("button", { name: "Remove" });
    expect(remove).toHaveLength(2);
    expect(remove[0].querySelector("svg path")).not.toBeNull();
    const add = screen.getByRole("button", { name: "Add" });
    expect(add.textContent).toContain("Add");
    fireEvent.click(add);
    expect(screen.getAllByRole("button", { name: "Remove" })).toHaveLength(3);
  });
});
