/** Shaping the model-page API's figures for the charts (pure; tested beside). */

export interface HourPoint {
  hour: string;
  calls: number;
  errors: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  labels: Record<string, number>;
}

export interface ShadowComparison {
  server: string;
  model: string;
  version: string;
  pairs: number;
  shadow_errors: number;
  agreement: number | null;
  confusion: Record<string, Record<string, number>>;
  primary_p50_ms: number | null;
  shadow_p50_ms: number | null;
  primary_p99_ms: number | null;
  shadow_p99_ms: number | null;
  primary_confidence: number[];
  shadow_confidence: number[];
}

export interface SeriesResponse {
  hours: HourPoint[];
  confidence: { current: number[]; reference: number[] };
  labels: { current: Record<string, number>; reference: Record<string, number> };
  shadows: ShadowComparison[];
}

/** "2026-11-29T14:00:00+00:00" -> "11-29 14:00" (UTC, as stored). */
export function hourLabel(iso: string): string {
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** Shares (0..1) of a histogram, so windows of different sizes compare. */
export function shares(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total ? c / total : 0));
}

export function confidenceBinLabels(bins: number): string[] {
  return Array.from({ length: bins }, (_, i) => `${(i / bins).toFixed(1)}–${((i + 1) / bins).toFixed(1)}`);
}

/** Per label, its share of each hour's labelled calls (labels sorted by name). */
export function labelShares(hours: HourPoint[]): { labels: string[]; series: Record<string, number[]> } {
  const names = [...new Set(hours.flatMap((h) => Object.keys(h.labels)))].sort();
  const series: Record<string, number[]> = {};
  for (const name of names) series[name] = [];
  for (const hour of hours) {
    const total = Object.values(hour.labels).reduce((a, b) => a + b, 0);
    for (const name of names) series[name].push(total ? (hour.labels[name] ?? 0) / total : 0);
  }
  return { labels: names, series };
}
