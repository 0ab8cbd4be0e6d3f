/** Compare two versions, or a version and the draft: pick them, then the canvas colours
 *  what differs and this panel lists each changed node's settings field by field. */
import { useState } from "react";
import { compareGraphs, type Comparison } from "../../core/compare";
import type { Graph } from "../../core/types";
import { errorMessage, type VersionSummary } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import "./versions.css";

const DRAFT = "draft";

function shown(value: unknown): string {
  if (value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function ComparePanel({ versions, onRestore }: { versions: VersionSummary[]; onRestore: (n: number) => void }) {
  const { api, store } = useServices();
  const workflowId = useEditor((s) => s.workflowId);
  const viewing = useEditor((s) => s.viewing);
  const readOnly = useEditor((s) => s.readOnly);
  const [from, setFrom] = useState<string>(versions[1] ? String(versions[1].number) : versions[0] ? String(versions[0].number) : "");
  const [to, setTo] = useState<string>(DRAFT);
  const [busy, setBusy] = useState(false);
  const result: Comparison | undefined = viewing?.kind === "version" ? viewing.compare?.result : undefined;

  const graphOf = async (which: string): Promise<Graph> => {
    if (which === DRAFT) return store.getState().graph;
    return (await api.getVersion(workflowId!, Number(which))).graph;
  };
  const label = (which: string) => (which === DRAFT ? "the draft" : `version ${which}`);

  const compare = async () => {
    if (!workflowId || !from || from === to) return;
    setBusy(true);
    try {
      const [older, newer] = await Promise.all([graphOf(from), graphOf(to)]);
      const comparison = compareGraphs(older, newer);
      const number = to === DRAFT ? Number(from) : Number(to);
      store.getState().view({
        kind: "version",
        number,
        note: "",
        graph: comparison.graph,
        compare: { label: `${label(from)} → ${label(to)}`, result: comparison },
      });
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (versions.length === 0) return null;
  return (
    <section className="compare" aria-label="Compare versions">
      <div className="compare-pick">
        <label>
          From{" "}
          <select value={from} onChange={(e) => setFrom(e.target.value)} aria-label="Compare from">
            {versions.map((v) => (
              <option key={v.number} value={v.number}>
                v{v.number}
              </option>
            ))}
          </select>
        </label>
        <label>
          to{" "}
          <select value={to} onChange={(e) => setTo(e.target.value)} aria-label="Compare to">
            <option value={DRAFT}>the draft</option>
            {versions.map((v) => (
              <option key={v.number} value={v.number}>
                v{v.number}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-default btn-small" disabled={busy || from === to} onClick={compare}>
          Compare
        </button>
      </div>
      {result && viewing?.kind === "version" && viewing.compare ? (
        <div className="compare-result" role="region" aria-label="Differences">
          <p className="compare-title">
            <strong>{viewing.compare.label}</strong>{" "}
            <button type="button" className="link-button" onClick={() => store.getState().view(null)}>
              Close
            </button>
          </p>
          {result.identical ? <p className="muted">No differences.</p> : null}
          <ul className="compare-list">
            {result.nodes.map((n) => (
              <li key={n.id} className={`compare-${n.change}`}>
                <span className={`diff-pill diff-pill-${n.change}`}>{n.change}</span> <strong>{n.name || n.id}</strong>
                {n.fields.length ? (
                  <table className="compare-fields">
                    <tbody>
                      {n.fields.map((f) => (
                        <tr key={f.path}>
                          <th scope="row">{f.path}</th>
                          <td className="before">{shown(f.before)}</td>
                          <td className="after">{shown(f.after)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : null}
              </li>
            ))}
            {Object.entries(result.edges).map(([id, change]) => {
              const edge = result.graph.edges.find((e) => e.id === id);
              const name = (nodeId: string | undefined) => result.graph.nodes.find((n) => n.id === nodeId)?.name || nodeId;
              return (
                <li key={`edge-${id}`} className={`compare-${change}`}>
                  <span className={`diff-pill diff-pill-${change}`}>{change}</span> connection {name(edge?.source)} → {name(edge?.target)}
                </li>
              );
            })}
          </ul>
          {!readOnly && from !== DRAFT ? (
            <button type="button" className="btn btn-default btn-small" onClick={() => onRestore(Number(from))}>
              Restore version {from}
            </button>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
