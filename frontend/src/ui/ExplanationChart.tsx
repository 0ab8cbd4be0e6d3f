/**
 * "Why the model said this": a model's per-feature contributions as horizontal bars,
 * largest effect first, those that pushed towards the answer on one side of the axis and
 * those that pushed against it on the other. SVG attributes only (no inline styles: CSP).
 */
export interface Contribution {
  feature: string;
  contribution: number;
}

export function isExplanation(value: unknown): value is Contribution[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (v) => !!v && typeof v === "object" && typeof (v as Contribution).feature === "string" && typeof (v as Contribution).contribution === "number",
    )
  );
}

/** The bars to draw, largest |contribution| first, at most `limit`. */
export function explanationBars(items: Contribution[], limit = 12): Contribution[] {
  return [...items].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution)).slice(0, limit);
}

const ROW = 22;
const LABEL_W = 150;
const BAR_W = 240;
const VALUE_W = 56;

export function ExplanationChart({ items, title = "Why the model said this" }: { items: Contribution[]; title?: string }) {
  const bars = explanationBars(items);
  const max = Math.max(...bars.map((b) => Math.abs(b.contribution)), 1e-9);
  const mid = LABEL_W + BAR_W / 2;
  const height = bars.length * ROW + 8;
  const fmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2, signDisplay: "always" });
  return (
    <figure className="explanation" aria-label={title}>
      <figcaption className="explanation-title">{title}</figcaption>
      <svg role="img" aria-label={`${title}: ${bars.map((b) => `${b.feature} ${fmt.format(b.contribution)}`).join(", ")}`} viewBox={`0 0 ${LABEL_W + BAR_W + VALUE_W} ${height}`} width="100%" height={height}>
        <line x1={mid} x2={mid} y1={0} y2={height} className="explanation-axis" />
        {bars.map((b, i) => {
          const w = (Math.abs(b.contribution) / max) * (BAR_W / 2 - 4);
          const y = 4 + i * ROW;
          const up = b.contribution >= 0;
          return (
            <g key={b.feature} data-feature={b.feature}>
              <text x={LABEL_W - 8} y={y + 14} textAnchor="end" className="explanation-label">
                {b.feature}
              </text>
              <rect x={up ? mid : mid - w} y={y + 3} width={Math.max(w, 1)} height={ROW - 8} className={up ? "explanation-up" : "explanation-down"} />
              <text x={LABEL_W + BAR_W + 4} y={y + 14} className="explanation-value">
                {fmt.format(b.contribution)}
              </text>
            </g>
          );
        })}
      </svg>
      <p className="muted small">Bars to the right pushed towards the model's answer, to the left against it.</p>
    </figure>
  );
}
