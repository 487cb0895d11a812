"""Field masks: ``fields=`` partial responses and the ``fields`` of update requests."""

from __future__ import annotations

import copy
import re
from typing import Any


def parse_mask(mask: str) -> dict[str, Any]:
    """A field mask as a tree: ``a.b,c(d,e)`` -> ``{a: {b: {}}, c: {d: {}, e: {}}}``.

    Google accepts dotted (gspread-formatting), slashed (gspread) and
    parenthesised (``ws.format``) forms; ``*`` means everything.
    """
    tree: dict[str, Any] = {}
    pos = 0

    def parse_list(into: dict[str, Any], closing: str | None) -> None:
        nonlocal pos
        while pos < len(mask):
            start = pos
            while pos < len(mask) and mask[pos] not in ",()":
                pos += 1
            path = mask[start:pos].strip()
            node = into
            parts = [p for p in re.split(r"[./]", path) if p] if path else []
            for part in parts:
                node = node.setdefault(part, {})
            if pos < len(mask) and mask[pos] == "(":
                pos += 1
                parse_list(node, ")")
            if pos < len(mask) and mask[pos] == ",":
                pos += 1
                continue
            if pos < len(mask) and mask[pos] == ")":
                if closing != ")":
                    raise ValueError(f"unbalanced ) in field mask {mask!r}")
                pos += 1
                return
        if closing is not None:
            raise ValueError(f"unbalanced ( in field mask {mask!r}")

    parse_list(tree, None)
    return tree


def project(value: Any, tree: dict[str, Any]) -> Any:
    """Partial response: keep only the fields named in ``tree`` (lists apply to each item)."""
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [project(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, sub in tree.items():
        if key in value:
            out[key] = project(value[key], sub)
    return out


def apply_mask(
    target: dict[str, Any], source: dict[str, Any], tree: dict[str, Any]
) -> dict[str, Any]:
    """Copy the masked fields of ``source`` onto a copy of ``target`` (absent -> removed)."""
    result = dict(target)
    if "*" in tree:
        return copy.deepcopy(source)
    for key, sub in tree.items():
        if not sub:
            if key in source and source[key] is not None:
                result[key] = copy.deepcopy(source[key])
            else:
                result.pop(key, None)
            continue
        inner_source = source.get(key)
        inner_target = result.get(key)
        merged = apply_mask(
            inner_target if isinstance(inner_target, dict) else {},
            inner_source if isinstance(inner_source, dict) else {},
            sub,
        )
        if merged:
            result[key] = merged
        else:
            result.pop(key, None)
    return result
