"""JSON path -> line:column, computed only for files that have findings.

The file is composed again (C parser, no construction) and the path walked through the node
tree. A path that stops early (a missing key) points at the deepest node that exists.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, SequenceNode

from labtax.lint.problem import Finding


def compose(text: str) -> Any:
    """The node tree of `text`, or None when it cannot be composed."""
    try:
        return YAML(typ="safe", pure=False).compose(text)
    except Exception:  # noqa: BLE001 - position lookup is best effort; the finding keeps line 1
        return None


def locate(root: Any, finding: Finding) -> tuple[int, int]:
    """1-based (line, column) of `finding.at` in the node tree `root`."""
    node, key_node = root, None
    for part in finding.at or ():
        child = _child(node, part)
        if child is None:
            break
        key_node, node = child
    target = key_node if finding.on_key and key_node is not None else node
    if target is None:
        return 1, 1
    return target.start_mark.line + 1, target.start_mark.column + 1


def _child(node: Any, part: str | int) -> tuple[Any, Any] | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if key.value == part or (isinstance(part, int) and key.value == str(part)):
                return key, value
    elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None
