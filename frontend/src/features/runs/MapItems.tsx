/**
 * The items of a map node whose results are not in its output (a large map refers to
 * them; a running or failed map has them in progress): a count, then pages on demand.
 */
import { useState } from "react";
import { errorMessage, type MapItem } from "../../infrastructure/api";
import { useApi } from "../../infrastructure/context";
import { Button } from "../../ui/Button";

export const MAP_ITEMS_PAGE = 50;

const MAX_CELL = 300;

function compact(value: unknown): string {
  if (value === undefined || value === null) return "—";
  const text = JSON.stringify(value);
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL)}…` : text;
}

function plural(n: number): string {
  return `${n.toLocaleString("en")} item${n === 1 ? "" : "s"}`;
}

export function MapItems({ itemsUrl, count }: { itemsUrl: string; count: number | null }) {
  const api = useApi();
  const [items, setItems] = useState<MapItem[] | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [nextAfter, setNextAfter] = useState<number | null>(null);
  const [failedOnly, setFailedOnly] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = async (after: number | null, failed: boolean) => {
    setLoading(true);
    try {
      const page = await api.listMapItems(itemsUrl, { after, limit: MAP_ITEMS_PAGE, failed });
      setItems((prev) => (after === null ? page.results : [...(prev ?? []), ...page.results]));
      setTotal(page.count);
      setNextAfter(page.next_after);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  };

  const known = failedOnly ? total : (total ?? count);
  const heading = known === null ? "Items" : failedOnly ? `${plural(known)} failed` : plural(known);
  return (
    <section className="map-items" aria-label="Map items">
      <div className="map-items-bar">
        <strong>{heading}</strong>
        {items === null ? (
          <Button onClick={() => load(null, failedOnly)} disabled={loading}>
            Show items
          </Button>
        ) : (
          <>
            <label className="small">
              <input
                type="checkbox"
                checked={failedOnly}
                disabled={loading}
                onChange={(e) => {
                  setFailedOnly(e.target.checked);
                  void load(null, e.target.checked);
                }}
              />{" "}
              Failed only
            </label>
            <Button variant="ghost" onClick={() => setItems(null)}>
              Hide items
            </Button>
          </>
        )}
      </div>
      {error ? (
        <p className="problem-error" role="alert">
          {error}
        </p>
      ) : null}
      {items !== null ? (
        items.length === 0 ? (
          <p className="muted small">{failedOnly ? "No item failed." : "No items."}</p>
        ) : (
          <table className="map-items-table">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Input</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.index} className={item.error ? "map-item-failed" : undefined}>
                  <td>{item.index}</td>
                  <td>
                    <code>{compact(item.input)}</code>
                  </td>
                  <td>
                    {item.error ? (
                      <span className="problem-error">
                        <strong>{item.error.type ?? "error"}</strong>: {item.error.message ?? ""}
                      </span>
                    ) : item.done ? (
                      <code>{compact(item.output)}</code>
                    ) : (
                      <span className="muted">not done yet</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
      {items !== null && nextAfter !== null ? (
        <Button onClick={() => load(nextAfter, failedOnly)} disabled={loading}>
          More
        </Button>
      ) : null}
      {loading ? <p className="muted small">Loading…</p> : null}
    </section>
  );
}
