// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { createApi, type MapItem } from "../../infrastructure/api";
import { ApiProvider } from "../../infrastructure/context";
import { MAP_ITEMS_PAGE, MapItems } from "./MapItems";

const URL_PATH = "/api/runs/r-1/nodes/map/items/";

/** A stand-in for the items endpoint over `items`: keyset on index, limit, failed. */
function itemsServer(items: MapItem[]) {
  const calls: string[] = [];
  const fetchImpl = async (url: string) => {
    calls.push(url);
    const parsed = new URL(url, "http://testserver");
    if (parsed.pathname !== URL_PATH) {
      return new Response(JSON.stringify({ code: "not_a_map", detail: "Node 'x' is not a map: it has no items." }), { status: 404 });
    }
    const after = Number(parsed.searchParams.get("after") ?? -1);
    const limit = Number(parsed.searchParams.get("limit") ?? 100);
    const failed = parsed.searchParams.get("failed") === "true";
    const matching = items.filter((i) => !failed || i.error);
    const rest = matching.filter((i) => i.index > after);
    const results = rest.slice(0, limit);
    const more = rest.length > limit;
    const nextAfter = more ? results[results.length - 1].index : null;
    return new Response(
      JSON.stringify({
        count: matching.length,
        next: more ? `http://testserver${URL_PATH}?after=${nextAfter}` : null,
        next_after: nextAfter,
        results,
      }),
      { status: 200 },
    );
  };
  return { calls, api: createApi("/api", fetchImpl) };
}

function makeItems(n: number, failing: number[] = []): MapItem[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    input: index,
    output: failing.includes(index) ? null : { item: index, done: true },
    error: failing.includes(index) ? { type: "ValueError", message: `item ${index} broke` } : null,
    done: true,
    child_run: `child-${index}`,
  }));
}

function rowIndexes(): string[] {
  const table = screen.queryByRole("table");
  if (!table) return [];
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((row) => within(row).getAllByRole("cell")[0].textContent ?? "");
}

afterEach(cleanup);

describe("map items in the run panel", () => {
  it("shows the count, loads the first page on demand and more pages until the last", async () => {
    const { calls, api } = itemsServer(makeItems(120));
    render(
      <ApiProvider value={api}>
        <MapItems itemsUrl={URL_PATH} count={120} />
      </ApiProvider>,
    );
    expect(screen.getByText("120 items")).toBeTruthy();
    expect(screen.queryByRole("table")).toBeNull();
    expect(calls).toEqual([]);

    fireEvent.click(screen.getByRole("button", { name: "Show items" }));
    await screen.findByRole("table");
    expect(calls).toEqual([`/api/runs/r-1/nodes/map/items/?limit=${MAP_ITEMS_PAGE}`]);
    expect(rowIndexes()).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(screen.getByText('{"item":7,"done":true}')).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "More" }));
    await waitFor(() => expect(rowIndexes()).toHaveLength(100));
    expect(calls[1]).toBe(`/api/runs/r-1/nodes/map/items/?after=49&limit=${MAP_ITEMS_PAGE}`);
    fireEvent.click(await screen.findByRole("button", { name: "More" }));
    await waitFor(() => expect(rowIndexes()).toHaveLength(120));
    expect(rowIndexes()).toEqual(Array.from({ length: 120 }, (_, i) => String(i)));
    expect(screen.queryByRole("button", { name: "More" })).toBeNull();
  });

  it("lists only the failed items with their errors when asked", async () => {
    const { calls, api } = itemsServer(makeItems(30, [7, 17, 27]));
    render(
      <ApiProvider value={api}>
        <MapItems itemsUrl={URL_PATH} count={null} />
      </ApiProvider>,
    );
    expect(screen.getByText("Items")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Show items" }));
    await screen.findByText("30 items");
    fireEvent.click(screen.getByRole("checkbox", { name: "Failed only" }));
    await screen.findByText("3 items failed");
    expect(calls[1]).toBe(`/api/runs/r-1/nodes/map/items/?limit=${MAP_ITEMS_PAGE}&failed=true`);
    expect(rowIndexes()).toEqual(["7", "17", "27"]);
    expect(screen.getByText(/item 17 broke/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "More" })).toBeNull();
  });

  it("says what went wrong when the items cannot be read", async () => {
    const { api } = itemsServer([]);
    render(
      <ApiProvider value={api}>
        <MapItems itemsUrl="/api/runs/r-1/nodes/x/items/" count={5} />
      </ApiProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Show items" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Node 'x' is not a map: it has no items.");
  });

  it("asks for pages under the API root whether the items_url is a path or a full URL", async () => {
    const { calls, api } = itemsServer(makeItems(3));
    await api.listMapItems(`http://testserver${URL_PATH}`, { after: 0, limit: 2, failed: true });
    await api.listMapItems(URL_PATH);
    expect(calls).toEqual([`${URL_PATH}?after=0&limit=2&failed=true`, URL_PATH]);
  });

});
