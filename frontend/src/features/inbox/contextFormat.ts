/**
 * How a context item is shown, by its `kind`: text as text, numbers and percents formatted
 * for the reader's locale, a confidence as a bar with its %, links as links, lists as
 * lists, lists of objects as tables; raw JSON only for objects. Pure, so it is tested alone.
 */
import type { ContextItem } from "../../infrastructure/inboxApi";
import { isExplanation, type Contribution } from "../../ui/ExplanationChart";

export type Shown =
  | { type: "text"; text: string }
  | { type: "empty" }
  | { type: "bar"; fraction: number; text: string }
  | { type: "link"; href: string; text: string }
  | { type: "list"; items: string[] }
  | { type: "table"; columns: string[]; rows: string[][] }
  | { type: "json"; text: string }
  | { type: "explanation"; items: Contribution[] };

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

export function scalarText(value: unknown, locale?: string): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return new Intl.NumberFormat(locale).format(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function asNumber(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/** 0.87 and 87 both mean 87 %. */
function fractionOf(n: number): number {
  return Math.abs(n) > 1 ? n / 100 : n;
}

function safeHref(value: string): string | null {
  try {
    const url = new URL(value, "http://relative.invalid");
    return url.protocol === "http:" || url.protocol === "https:" ? value : null;
  } catch {
    return null;
  }
}

function listOrTable(value: unknown[], locale?: string): Shown {
  if (value.length && value.every(isObject)) {
    const columns: string[] = [];
    for (const row of value as Record<string, unknown>[]) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    return { type: "table", columns, rows: (value as Record<string, unknown>[]).map((row) => columns.map((c) => scalarText(row[c], locale))) };
  }
  return { type: "list", items: value.map((v) => scalarText(v, locale)) };
}

export function showContext(item: ContextItem, locale?: string): Shown {
  const { value } = item;
  if (value === null || value === undefined || value === "") return { type: "empty" };
  if ((item.kind === "explanation" || item.kind === "auto" || item.kind === undefined || item.kind === "table") && isExplanation(value)) {
    return { type: "explanation", items: value };
  }
  const kind = item.kind ?? (Array.isArray(value) ? "list" : isObject(value) ? "object" : typeof value === "number" ? "number" : "text");
  switch (kind) {
    case "number": {
      const n = asNumber(value);
      return { type: "text", text: n === null ? scalarText(value, locale) : new Intl.NumberFormat(locale).format(n) };
    }
    case "percent": {
      const n = asNumber(value);
      if (n === null) return { type: "text", text: scalarText(value, locale) };
      return { type: "text", text: new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(fractionOf(n)) };
    }
    case "confidence": {
      const n = asNumber(value);
      if (n === null) return { type: "text", text: scalarText(value, locale) };
      const fraction = Math.min(1, Math.max(0, fractionOf(n)));
      return { type: "bar", fraction, text: new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 }).format(fraction) };
    }
    case "link": {
      const href = typeof value === "string" ? safeHref(value) : null;
      return href ? { type: "link", href, text: value as string } : { type: "text", text: scalarText(value, locale) };
    }
    case "list":
    case "table":
      if (Array.isArray(value)) return listOrTable(value, locale);
      return isObject(value) ? { type: "json", text: JSON.stringify(value, null, 2) } : { type: "text", text: scalarText(value, locale) };
    case "object":
      if (isObject(value)) return { type: "json", text: JSON.stringify(value, null, 2) };
      if (Array.isArray(value)) return listOrTable(value, locale);
      return { type: "text", text: scalarText(value, locale) };
    default:
      if (Array.isArray(value)) return listOrTable(value, locale);
      if (isObject(value)) return { type: "json", text: JSON.stringify(value, null, 2) };
      return { type: "text", text: scalarText(value, locale) };
  }
}
