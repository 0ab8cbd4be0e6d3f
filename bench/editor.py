"""Canvas editor benchmark: prints figures, never fails on time.

    .venv/bin/python bench/editor.py [--runs 3]

Against its own uvicorn on the embedded PostgreSQL (`make services`) and Debian's
Chromium (headless, software rendering: no GPU here), for a 500-node / 600-edge workflow
and a 10-node baseline measured in the same run:

- open until interactive: from `page.goto` to the moment the canvas has drawn its nodes
  and a click on one node has selected it (the node shows as selected). "Nodes drawn"
  alone is printed too.
- panning: a scripted drag of the empty canvas (120 mouse moves over about 2 s) while a
  requestAnimationFrame loop records frame deltas: p50 / p95 ms and fps (1000 / mean).

The workflows are created through the services (ORM) under a throwaway user, and
deleted with it afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("WEFT_LOG_LEVEL", "WARNING")

from config import embedded  # noqa: E402

_urls = embedded.up()
os.environ.setdefault("DATABASE_URL", _urls["database_url"])
os.environ.setdefault("REDIS_URL", _urls["redis_url"])

import django  # noqa: E402

django.setup()

PASSWORD = "bench-editor-password"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def grid_graph(*, rows: int, cols: int, extra_edges: int) -> dict:
    """A valid DAG laid out on a grid: a trigger at (0, 0), column 0 chained downwards,
    every row chained rightwards, and `extra_edges` merge nodes that also take the node
    diagonally up-left of them. rows * cols nodes, rows*cols - 1 + extra_edges edges."""
    def nid(r, c):
        return f"n{r}_{c}"

    merges = set()
    for r in range(1, rows):
        for c in range(1, cols):
            if len(merges) < extra_edges and (r + c) % 2 == 0:
                merges.add((r, c))
    if len(merges) < extra_edges:
        raise ValueError("grid too small for that many extra edges")
    nodes, edges = [], []
    for r in range(rows):
        for c in range(cols):
            kind = "trigger.manual" if (r, c) == (0, 0) else \
                "data.merge" if (r, c) in merges else "core.noop"
            nodes.append({"id": nid(r, c), "type": kind, "version": 1, "name": f"Step {r}.{c}",
                          "config": {}, "position": {"x": c * 300, "y": r * 140}})

    def edge(a, b):
        edges.append({"id": f"e{len(edges)}", "source": nid(*a), "source_port": "out",
                      "target": nid(*b), "target_port": "in"})

    for r in range(1, rows):
        edge((r - 1, 0), (r, 0))
    for r in range(rows):
        for c in range(1, cols):
            edge((r, c - 1), (r, c))
    for r, c in sorted(merges):
        edge((r - 1, c - 1), (r, c))
    return {"nodes": nodes, "edges": edges, "notes": []}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "off", "--no-access-log"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("uvicorn did not start")


RAF_SAMPLER = """() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (t) => { window.__frames.push(t - last); last = t; if (window.__sampling) requestAnimationFrame(tick); };
  window.__sampling = true;
  requestAnimationFrame(tick);
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(page, url: str, workflow_id, node_count: int) -> dict:
    page.goto("about:blank")
    t0 = time.perf_counter()
    page.goto(f"{url}/editor/{workflow_id}/")
    nodes = page.locator(".react-flow__node")
    # Drawn: xyflow has measured the nodes (it hides unmeasured ones with visibility:hidden).
    page.wait_for_function(
        "() => { const n = document.querySelectorAll('.react-flow__node'); return n.length > 0 &&"
        " [...n].every(e => getComputedStyle(e).visibility !== 'hidden'); }", timeout=60_000)
    drawn = time.perf_counter() - t0
    rendered = nodes.count()
    target = nodes.nth(rendered // 2)
    target.click(timeout=60_000)
    page.wait_for_function(
        "(id) => document.querySelector(`.react-flow__node[data-id=\"${id}\"]`)"
        "?.classList.contains('selected')", arg=target.get_attribute("data-id"), timeout=60_000)
    interactive = time.perf_counter() - t0

    # Pan: drag the empty canvas from near its top-left corner (the fit view leaves a margin).
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    box = page.locator(".react-flow__pane").bounding_box()
    x, y = box["x"] + 12, box["y"] + box["height"] / 2
    page.evaluate(RAF_SAMPLER)
    page.mouse.move(x, y)
    page.mouse.down()
    steps = 120
    for i in range(1, steps + 1):
        page.mouse.move(x + i * 3, y + (i % 40) * 2)
        page.wait_for_timeout(16)
    page.mouse.up()
    frames = page.evaluate("() => { window.__sampling = false; return window.__frames.slice(1); }")
    return {"nodes": node_count, "rendered": rendered, "drawn_s": drawn,
            "interactive_s": interactive, "frames": frames}


def summarise(results: list[dict]) -> dict:
    frames = [f for r in results for f in r["frames"]]
    return {
        "rendered": results[-1]["rendered"],
        "drawn": statistics.median(r["drawn_s"] for r in results),
        "interactive": statistics.median(r["interactive_s"] for r in results),
        "interactive_all": [round(r["interactive_s"], 2) for r in results],
        "p50": pct(frames, 0.5), "p95": pct(frames, 0.95),
        "fps": 1000 / statistics.mean(frames), "samples": len(frames),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="page opens per workflow")
    args = parser.parse_args()

    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from apps.accounts.services import user_create
    from apps.workflows.services import graph_validate, workflow_create

    call_command("migrate", verbosity=0)
    big_graph = grid_graph(rows=25, cols=20, extra_edges=101)
    small_graph = grid_graph(rows=2, cols=5, extra_edges=0)
    assert (len(big_graph["nodes"]), len(big_graph["edges"])) == (500, 600)
    errors = [p for p in graph_validate(graph=big_graph) if p.severity == "error"]
    assert not errors, errors[:3]

    username = f"bench-editor-{uuid.uuid4().hex[:8]}"
    user = user_create(username=username, email=f"{username}@example.com", password=PASSWORD,
                       roles=["editor"])
    big = workflow_create(user=user, name="Bench 500", description="", graph=big_graph)
    small = workflow_create(user=user, name="Bench 10", description="", graph=small_graph)
    log = ROOT / "var" / "bench-editor-web.log"
    web, url = start_web(log)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-first-run"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{url}/login/")
            page.get_by_label("Username or e-mail").fill(username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{url}/")
            measure(page, url, small.pk, 10)  # warm caches (server, browser) once
            figures = {}
            for label, wf, n in (("10 nodes", small, 10), ("500 nodes", big, 500)):
                figures[label] = summarise([measure(page, url, wf.pk, n) for _ in range(args.runs)])
            browser.close()
    finally:
        web.terminate()
        web.wait(10)
        big.delete()
        small.delete()
        user.delete()

    cores = os.cpu_count()
    print(f"Chromium headless (software rendering), viewport 1440x900, {cores} cores; "
          f"median of {args.runs} opens each")
    print(f"{'workflow':<10} {'drawn':>8} {'interactive':>12} {'rendered':>9} "
          f"{'pan p50':>8} {'pan p95':>8} {'fps':>6} {'frames':>7}")
    for label, f in figures.items():
        print(f"{label:<10} {f['drawn'] * 1000:>6.0f}ms {f['interactive'] * 1000:>10.0f}ms "
              f"{f['rendered']:>9} {f['p50']:>6.1f}ms {f['p95']:>6.1f}ms {f['fps']:>6.1f} "
              f"{f['samples']:>7}")
    big_f, small_f = figures["500 nodes"], figures["10 nodes"]
    print(f"ratio 500/10: open x{big_f['interactive'] / small_f['interactive']:.2f}, "
          f"pan p50 x{big_f['p50'] / small_f['p50']:.2f}, p95 x{big_f['p95'] / small_f['p95']:.2f}")
    print(f"opens (s): 10 nodes {small_f['interactive_all']}, 500 nodes {big_f['interactive_all']}")
    print("targets: open < 1.5 s, panning at 60 fps")


if __name__ == "__main__":
    main()
