/** The shadow comparison: figures and a confusion table per shadow, built with DOM calls
 * (text content only: labels come from the model). */
import type { ShadowComparison } from "./series";

function cell(tag: string, text: string): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

function fmt(value: number | null, digits = 1): string {
  return value === null ? "–" : value.toFixed(digits);
}

export function renderShadows(root: HTMLElement | null, shadows: ShadowComparison[]): void {
  if (!root) return;
  root.replaceChildren();
  if (!shadows.length) {
    root.append(cell("p", "No shadow model got this version's inputs in the last 24 hours."));
    return;
  }
  shadows.forEach((shadow, index) => {
    const box = document.createElement("div");
    box.className = "shadow";
    box.append(cell("h3", `Shadow: ${shadow.model} v${shadow.version || "latest"} on ${shadow.server}`));
    const agreement = shadow.agreement === null ? "–" : `${(shadow.agreement * 100).toFixed(1)} %`;
    box.append(cell("p", `Agreement ${agreement} over ${shadow.pairs} calls; shadow errors ${shadow.shadow_errors}; ` +
      `latency p50 ${fmt(shadow.primary_p50_ms)} ms vs ${fmt(shadow.shadow_p50_ms)} ms, ` +
      `p99 ${fmt(shadow.primary_p99_ms)} ms vs ${fmt(shadow.shadow_p99_ms)} ms.`));
    const labels = [...new Set([...Object.keys(shadow.confusion),
      ...Object.values(shadow.confusion).flatMap((row) => Object.keys(row))])].sort();
    const table = document.createElement("table");
    const head = document.createElement("tr");
    head.append(cell("th", "This model ↓ / shadow →"), ...labels.map((l) => cell("th", l)));
    table.append(head);
    for (const mine of labels) {
      const row = document.createElement("tr");
      row.append(cell("th", mine), ...labels.map((theirs) => cell("td", String(shadow.confusion[mine]?.[theirs] ?? 0))));
      table.append(row);
    }
    box.append(table);
    const wrap = document.createElement("div");
    wrap.className = "chart";
    const canvas = document.createElement("canvas");
    canvas.id = `chart-shadow-${index}`;
    wrap.append(canvas);
    box.append(wrap);
    root.append(box);
  });
}
