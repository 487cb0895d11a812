"""Safe HTML for the sandbox page: every text is escaped unless it is already ``Markup``.

People's text reaches the page (chat messages, cell values, deal names), so nothing is
pasted into HTML as it is: ``h("td", {"class": "n"}, value)`` escapes ``value``, and the
page's templates (``templates/*.html``, ``string.Template``) take ``Markup`` pieces or
escape what they are given.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from string import Template
from typing import Any

__all__ = ["Markup", "esc", "h", "join", "link", "render"]

# Elements without a closing tag.
_VOID = frozenset({"input", "br", "img", "meta", "link", "col", "hr"})


class Markup(str):
    """A piece of HTML already safe to insert as it is."""

    __slots__ = ()


def esc(value: Any) -> Markup:
    """``value`` as safe HTML text (``Markup`` passes through)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(pieces: Iterable[Any]) -> Markup:
    return Markup("".join(esc(p) for p in pieces))


def h(tag: str, attrs: Mapping[str, Any] | None = None, *children: Any) -> Markup:
    """``<tag attrs>children</tag>``; an attribute set to None or False is left out."""
    parts = [tag]
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(name)
        else:
            parts.append(f'{name}="{esc(value)}"')
    opening = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Markup(opening)
    return Markup(opening + join(_flatten(children)) + f"</{tag}>")


def _flatten(children: Iterable[Any]) -> Iterable[Any]:
    for child in children:
        if isinstance(child, list | tuple):
            yield from _flatten(child)
        elif child is not None:
            yield child


@cache
def _template(name: str) -> Template:
    text = (
        resources.files("sheetledger.sandbox.web")
        .joinpath("templates", name)
        .read_text(encoding="utf-8")
    )
    return Template(text)


def render(name: str, **values: Any) -> Markup:
    """The template ``templates/<name>`` filled with ``values`` (escaped unless ``Markup``)."""
    return Markup(_template(name).substitute({k: esc(v) for k, v in values.items()}))


def link(**params: Any) -> str:
    """A page address with these query parameters (the token is added by the page's script)."""
    return "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "")})
