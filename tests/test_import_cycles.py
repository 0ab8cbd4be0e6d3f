"""No import cycles among the modules of apps/ (STYLE.md: not even lazy ones inside
functions). The import graph is read by grimp, which parses every module's imports,
those inside functions included; like the role matrix, this fails when a new import
closes a cycle, and names the modules that form it."""

from __future__ import annotations

import grimp


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (Tarjan), each
    sorted; a module that imports itself counts too."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: the graph may be deep
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in graph.get(node, ()):
                        groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def _apps_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("apps", cache_dir=None)
    return {module: {target for target in graph.find_modules_directly_imported_by(module)
                     if target.startswith("apps.")}
            for module in graph.modules if module.startswith("apps.")}


def test_no_module_of_apps_is_part_of_an_import_cycle():
    graph = _apps_graph()
    assert "apps.runs.services.sweep" in graph  # the graph is the real one
    assert strongly_connected(graph) == []


def test_a_cycle_is_found_and_named():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert strongly_connected(graph) == [["a", "b", "c"], ["e"]]
