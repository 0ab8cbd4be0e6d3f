/** Entry point of the console's model version page (/console/models/<id>/): fetches the
 * page's figures from the API named on #model-charts and draws them. */
import { drawCharts } from "./features/models/charts";
import { renderShadows } from "./features/models/shadows";
import type { SeriesResponse } from "./features/models/series";

async function start(): Promise<void> {
  const root = document.getElementById("model-charts");
  const url = root?.dataset.seriesUrl;
  if (!root || !url) return;
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    root.dataset.state = "error";
    return;
  }
  const data = (await response.json()) as SeriesResponse;
  renderShadows(document.getElementById("model-shadows"), data.shadows);
  drawCharts(data);
  root.dataset.state = "drawn";
}

void start();
