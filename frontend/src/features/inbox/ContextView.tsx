/** The task's context, each item shown by its kind (see contextFormat.ts). */
import type { ContextItem } from "../../infrastructure/inboxApi";
import { ExplanationChart } from "../../ui/ExplanationChart";
import { showContext, type Shown } from "./contextFormat";

function Value({ shown }: { shown: Shown }) {
  switch (shown.type) {
    case "empty":
      return <span className="muted">—</span>;
    case "text":
      return <span className="ctx-text">{shown.text}</span>;
    case "bar":
      return (
        <span className="ctx-bar">
          <meter min={0} max={1} low={0.5} high={0.8} optimum={1} value={shown.fraction} aria-label={shown.text} />
          <span>{shown.text}</span>
        </span>
      );
    case "link":
      return (
        <a href={shown.href} target="_blank" rel="noopener noreferrer">
          {shown.text}
        </a>
      );
    case "list":
      return (
        <ul className="ctx-list">
          {shown.items.map((item, i) => (
            <li key={i}>{item}</li>
          ))}
        </ul>
      );
    case "table":
      return (
        <div className="ctx-table-wrap">
          <table className="ctx-table">
            <thead>
              <tr>
                {shown.columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.rows.map((row, i) => (
                <tr key={i}>
                  {row.map((cell, j) => (
                    <td key={j}>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case "json":
      return <pre className="json-view">{shown.text}</pre>;
    case "explanation":
      return <ExplanationChart items={shown.items} />;
  }
}

export function ContextView({ items }: { items: ContextItem[] }) {
  if (!items.length) return null;
  return (
    <dl className="ctx" aria-label="Context">
      {items.map((item, i) => (
        <div className="ctx-row" key={`${item.label}-${i}`}>
          <dt>{item.label}</dt>
          <dd>
            <Value shown={showContext(item)} />
          </dd>
        </div>
      ))}
    </dl>
  );
}
