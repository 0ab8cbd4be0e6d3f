// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ContextView } from "../features/inbox/ContextView";
import { showContext } from "../features/inbox/contextFormat";
import { ExplanationChart, explanationBars, isExplanation } from "./ExplanationChart";

const ITEMS = [
  { feature: "po_match", contribution: -1.2 },
  { feature: "bank_account_changed", contribution: 2.5 },
  { feature: "weekend_submission", contribution: 0.1 },
];

afterEach(cleanup);

describe("ExplanationChart", () => {
  it("orders bars by the size of their effect, either way", () => {
    expect(explanationBars(ITEMS).map((b) => b.feature)).toEqual(["bank_account_changed", "po_match", "weekend_submission"]);
    expect(isExplanation(ITEMS)).toBe(true);
    expect(isExplanation([{ feature: "x" }])).toBe(false);
  });

  it("draws one bar per feature, towards and against the answer", () => {
    const { container } = render(<ExplanationChart items={ITEMS} />);
    expect(screen.getByText("Why the model said this")).toBeTruthy();
    expect(container.querySelectorAll("rect.explanation-up")).toHaveLength(2);
    expect(container.querySelectorAll("rect.explanation-down")).toHaveLength(1);
    expect(container.querySelector('[data-feature="po_match"]')?.textContent).toContain("-1.2");
  });

  it("is how the inbox shows a context item that holds an explanation", () => {
    expect(showContext({ label: "Why", value: ITEMS, kind: "explanation" })).toEqual({ type: "explanation", items: ITEMS });
    expect(showContext({ label: "Why", value: ITEMS, kind: "table" })).toMatchObject({ type: "explanation" });
  });

  it("is drawn in the task's context, as the Invoice review's reviewer sees it", () => {
    const { container } = render(
      <ContextView items={[{ label: "Risk", value: "risky", kind: "text" }, { label: "Why the model says so", value: ITEMS, kind: "explanation" }]} />,
    );
    expect(screen.getByText("Why the model says so")).toBeTruthy();
    expect(container.querySelectorAll("rect.explanation-up, rect.explanation-down")).toHaveLength(3);
  });
});
