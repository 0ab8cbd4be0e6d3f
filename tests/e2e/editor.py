"""Driving the canvas editor in Chromium the way a person does: palette drags, handle
drags, the inspector form, the problems list. Locators follow the app's roles and labels
(frontend/src); xyflow's own classes and data attributes only where it has nothing better
(`.react-flow__node[data-id]`, `.react-flow__handle[data-handleid]`)."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

# The editor saves 800 ms after the last change; a 2-core machine wants headroom.
SAVE_TIMEOUT_MS = 15_000


@dataclass
class Editor:
    page: Page
    base_url: str
    workflow_id: str

    # --- opening --------------------------------------------------------------

    def open(self) -> Editor:
        self.page.goto(f"{self.base_url}/editor/{self.workflow_id}/")
        expect(self.palette).to_be_visible()
        expect(self.page.locator(".react-flow__renderer")).to_be_visible()
        return self

    def reload(self) -> Editor:
        self.page.reload()
        expect(self.page.locator(".react-flow__renderer")).to_be_visible()
        return self

    # --- regions --------------------------------------------------------------

    @property
    def palette(self) -> Locator:
        return self.page.get_by_role("navigation", name="Node palette")

    @property
    def canvas(self) -> Locator:
        return self.page.locator(".react-flow__pane")

    @property
    def problems(self) -> Locator:
        return self.page.get_by_role("region", name="Problems")

    @property
    def side_panel(self) -> Locator:
        """The right-hand panel: Inspector, Versions or Runs, whichever tab is open."""
        return self.page.get_by_role("tabpanel")

    @property
    def save_indicator(self) -> Locator:
        return self.page.locator(".save-indicator")

    @property
    def toolbar(self) -> Locator:
        return self.page.get_by_role("banner")

    def node(self, name: str) -> Locator:
        """The node on the canvas whose name is `name` (its aria-label starts with it)."""
        return self.page.locator(".react-flow__node").filter(
            has=self.page.locator(f'[aria-label^="{name} ("]'))

    def node_id(self, name: str) -> str:
        return self.node(name).get_attribute("data-id")

    # --- gestures -------------------------------------------------------------

    def drag_from_palette(self, label: str, *, x: float, y: float) -> Locator:
        """HTML5 drag of a palette entry onto the canvas at (x, y) of the canvas box,
        with real mouse events (Chromium turns them into dragstart/dragover/drop)."""
        item = self.palette.get_by_role("button", name=f"Add {label}:")
        before = self.page.locator(".react-flow__node").count()
        box = self.canvas.bounding_box()
        item.hover()
        self.page.mouse.down()
        self.page.mouse.move(box["x"] + x / 2, box["y"] + y / 2, steps=5)
        self.page.mouse.move(box["x"] + x, box["y"] + y, steps=5)
        self.page.mouse.up()
        expect(self.page.locator(".react-flow__node")).to_have_count(before + 1)
        node = self.page.locator(".react-flow__node").last
        # It lands under the pointer, where it was dropped.
        drop_x, drop_y = box["x"] + x, box["y"] + y
        landed = stable_box(node)
        assert landed["x"] <= drop_x <= landed["x"] + landed["width"], (landed, drop_x)
        assert landed["y"] <= drop_y <= landed["y"] + landed["height"], (landed, drop_y)
        return node

    def handle(self, node_name: str, port: str, *, kind: str) -> Locator:
        return self.node(node_name).locator(f'.react-flow__handle.{kind}[data-handleid="{port}"]')

    def connect(self, source: str, target: str, *, source_port: str = "out",
                target_port: str = "in") -> None:
        """Press on the source's output handle, move to the target's input handle, release."""
        self.settle()
        before = self.page.locator(".react-flow__edge").count()
        a = stable_box(self.handle(source, source_port, kind="source"))
        self.page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
        self.page.mouse.down()
        self.page.mouse.move(a["x"] + 40, a["y"] + 30, steps=4)
        # Measured now: validation results can resize the panels (and move the canvas).
        b = stable_box(self.handle(target, target_port, kind="target"))
        self.page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=10)
        self.page.mouse.up()
        expect(self.page.locator(".react-flow__edge")).to_have_count(before + 1)

    def select(self, name: str) -> None:
        """Click the node's header until it is selected: a click that lands while the
        canvas fits the graph into view (an animation that starts 50 ms after the editor
        opens) can hit the pane where the node was, as a person's would; they click again."""
        node = self.node(name)
        for _ in range(2):
            node.locator(".weft-node-header").click()
            try:
                expect(node).to_have_class(_has("selected"), timeout=2_000)
                return
            except AssertionError:
                stable_box(node)
        node.locator(".weft-node-header").click()
        expect(node).to_have_class(_has("selected"))

    def settle(self) -> None:
        """Wait until the draft is saved and checked: the problems list (and with it the
        canvas's size) stops changing, so what is measured stays where it is."""
        self.expect_saved()
        expect(self.problems.get_by_text("checking…")).to_have_count(0)

    def expect_saved(self) -> None:
        expect(self.save_indicator).to_have_text("Saved", timeout=SAVE_TIMEOUT_MS)


def stable_box(locator: Locator, *, timeout_s: float = 5) -> dict:
    """The element's box once it stops moving (viewport animations, panels resizing)."""
    deadline = time.monotonic() + timeout_s
    last = locator.bounding_box()
    while time.monotonic() < deadline:
        time.sleep(0.15)
        box = locator.bounding_box()
        if box == last:
            return box
        last = box
    raise AssertionError(f"{locator} kept moving for {timeout_s}s")


def _has(css_class: str):
    import re

    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")


def api_get(base_url: str, path: str, token: str) -> dict:
    """GET an API path with a token, outside the browser (what the server really holds)."""
    request = urllib.request.Request(f"{base_url}/api{path}",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
