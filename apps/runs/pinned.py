"""Pinned nodes of a test snapshot: a node whose output the builder pinned (or, for
"run this node", one whose data an earlier test run produced) gives that output instead
of running: no HTTP call, no inference, no waiting on a person.

A leaf module: compiling a test snapshot (apps.runs.services.compile_version) swaps each
pinned node's type for `pinned_type(node_type, outputs)`. The stand-in keeps the node
type's name, ports and config model (so the output ports are checked as for the real
node, and metrics and the run panel name the real type) and runs inline, like a pure
node. The outputs come back as given; the engine checks and escapes them like any
node's output (apps.runs.refs), so a pin can never pose as an engine reference.
"""

from __future__ import annotations

import copy
from typing import Any

from apps.nodes.base import NodeContext, NodeType, Outputs


def pinned_type(node_type: type[NodeType], outputs: dict[str, Any]) -> type[NodeType]:
    frozen = copy.deepcopy(outputs)

    def execute(self, context: NodeContext, config: Any) -> Outputs:
        return Outputs(copy.deepcopy(frozen))

    return type(f"Pinned{node_type.__name__}", (node_type,),
                {"pure": True, "pinned": True, "execute": execute,
                 "__doc__": f"{node_type.type} with its output pinned."})


def is_pinned(node_type: type[NodeType]) -> bool:
    return bool(getattr(node_type, "pinned", False))
