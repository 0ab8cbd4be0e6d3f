/** The model version page's charts (Chart.js, drawn into the page's canvases). */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { confidenceBinLabels, hourLabel, labelShares, shares, type SeriesResponse } from "./series";

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip);

const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777"];
const common = { responsive: true, maintainAspectRatio: false, animation: false as const };

function canvas(id: string): HTMLCanvasElement | null {
  return document.getElementById(id) as HTMLCanvasElement | null;
}

export function drawCharts(data: SeriesResponse): void {
  const hours = data.hours.map((h) => hourLabel(h.hour));
  const calls = canvas("chart-calls");
  if (calls) {
    new Chart(calls, {
      type: "bar",
      data: {
        labels: hours,
        datasets: [
          { label: "Calls", data: data.hours.map((h) => h.calls - h.errors), backgroundColor: COLOURS[0], stack: "c" },
          { label: "Errors", data: data.hours.map((h) => h.errors), backgroundColor: COLOURS[1], stack: "c" },
        ],
      },
      options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
  }
  const latency = canvas("chart-latency");
  if (latency) {
    new Chart(latency, {
      type: "line",
      data: {
        labels: hours,
        datasets: (["p50_ms", "p95_ms", "p99_ms"] as const).map((key, i) => ({
          label: key.replace("_ms", ""), data: data.hours.map((h) => h[key]),
          borderColor: COLOURS[i], backgroundColor: COLOURS[i], pointRadius: 0,
        })),
      },
      options: { ...common, scales: { y: { beginAtZero: true, title: { display: true, text: "ms" } } } },
    });
  }
  const confidence = canvas("chart-confidence");
  if (confidence) {
    new Chart(confidence, {
      type: "bar",
      data: {
        labels: confidenceBinLabels(data.confidence.current.length),
        datasets: [
          { label: "Reference window", data: shares(data.confidence.reference), backgroundColor: "#94a3b8" },
          { label: "Last 24 hours", data: shares(data.confidence.current), backgroundColor: COLOURS[0] },
        ],
      },
      options: { ...common, scales: { y: { beginAtZero: true, title: { display: true, text: "share of calls" } } } },
    });
  }
  const labels = canvas("chart-labels");
  if (labels) {
    const { labels: names, series } = labelShares(data.hours);
    new Chart(labels, {
      type: "line",
      data: {
        labels: hours,
        datasets: names.map((name, i) => ({
          label: name, data: series[name], fill: true, pointRadius: 0,
          borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length] + "99",
        })),
      },
      options: { ...common, scales: { y: { stacked: true, min: 0, max: 1 } } },
    });
  }
  data.shadows.forEach((shadow, index) => {
    const target = canvas(`chart-shadow-${index}`);
    if (!target) return;
    new Chart(target, {
      type: "bar",
      data: {
        labels: confidenceBinLabels(shadow.primary_confidence.length),
        datasets: [
          { label: "This model", data: shares(shadow.primary_confidence), backgroundColor: COLOURS[0] },
          { label: `Shadow ${shadow.model} v${shadow.version}`, data: shares(shadow.shadow_confidence), backgroundColor: COLOURS[3] },
        ],
      },
      options: { ...common, scales: { y: { beginAtZero: true } } },
    });
  });
}
