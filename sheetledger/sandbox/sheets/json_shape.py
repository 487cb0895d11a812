"""How Google shapes the JSON it answers: defaults, colour twins, proto3 omissions.

* Every colour comes as a pair: the legacy ``Color`` (``backgroundColor``, ``tabColor``,
  ``foregroundColor``, a border's ``color``...) and its ``*Style`` twin
  (``{"rgbColor": ...}`` or ``{"themeColor": ...}``). Whichever a client sends, a read
  shows both (``defaultFormat`` in tests/fixtures/gsheets/WorksheetTest.test_add_validation.json);
  when both are sent the style wins ("If color is also set, this field takes precedence").
* Proto3 omits a field that holds its default: a colour channel at 0 (black is ``{}``),
  ``sheetId: 0`` inside ranges, a ``null``. A style emptied that way clears the colour:
  gspread's ``clear_tab_color`` sends ``{"tabColorStyle": {"rgbColor": null}}`` and the
  next read has no ``tabColorStyle`` (tests/sandbox/test_sheets_shapes.py, as gspread's
  recording WorksheetTest.test_clear_tab_color shows).
"""

from __future__ import annotations

from typing import Any

# Copied from a fresh spreadsheet's metadata
# (tests/fixtures/gsheets/WorksheetTest.test_add_validation.json).
DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        {"colorType": "TEXT", "color": {"rgbColor": {}}},
        {"colorType": "BACKGROUND", "color": {"rgbColor": {"red": 1, "green": 1, "blue": 1}}},
        {
            "colorType": "ACCENT1",
            "color": {"rgbColor": {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}},
        },
        {
            "colorType": "ACCENT2",
            "color": {"rgbColor": {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}},
        },
        {
            "colorType": "ACCENT3",
            "color": {"rgbColor": {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}},
        },
        {
            "colorType": "ACCENT4",
            "color": {"rgbColor": {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}},
        },
        {
            "colorType": "ACCENT5",
            "color": {"rgbColor": {"red": 1, "green": 0.42745098, "blue": 0.003921569}},
        },
        {
            "colorType": "ACCENT6",
            "color": {"rgbColor": {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}},
        },
        {
            "colorType": "LINK",
            "color": {"rgbColor": {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}},
        },
    ],
}

THEME_RGB: dict[str, dict[str, Any]] = {
    item["colorType"]: item["color"]["rgbColor"] for item in THEME["themeColors"]
}
_NOT_COLORS = frozenset({"rgbColor", "themeColor"})


def is_color_key(key: str) -> bool:
    """``backgroundColor``, ``tabColor``, a border's ``color``: a legacy Color field."""
    return (key.endswith("Color") and key not in _NOT_COLORS) or key == "color"


def color_pair_of(key: str) -> str | None:
    """The legacy name a key pairs with (itself, or ``x`` for ``xStyle``), or None."""
    if is_color_key(key):
        return key
    if key.endswith("Style") and is_color_key(key[:-5]):
        return key[:-5]
    return None


def clean_color(color: dict[str, Any]) -> dict[str, Any]:
    """A Color without its default channels (``{"red": 1, "green": 0}`` -> ``{"red": 1}``)."""
    return {k: v for k, v in color.items() if v not in (None, 0)}


def with_colors_mirrored(node: Any) -> Any:
    """``node`` with nulls dropped and every colour filled in as both twins (style wins)."""
    if isinstance(node, list):
        return [with_colors_mirrored(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: with_colors_mirrored(v) for k, v in node.items() if v is not None}
    for base in {b for b in map(color_pair_of, list(out)) if b is not None}:
        legacy, style = out.pop(base, None), out.pop(base + "Style", None)
        rgb: Any = None
        if isinstance(style, dict) and style.get("themeColor"):
            out[base + "Style"] = {"themeColor": style["themeColor"]}
            rgb = THEME_RGB.get(style["themeColor"], {})
        elif isinstance(style, dict) and isinstance(style.get("rgbColor"), dict):
            rgb = style["rgbColor"]
        elif isinstance(legacy, dict) and not isinstance(style, dict):
            rgb = legacy
        if rgb is not None:
            out[base] = clean_color(rgb)
            out.setdefault(base + "Style", {"rgbColor": clean_color(rgb)})
    return out


def without_stale_twins(target: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    """``target`` minus the twin of every colour a field mask is about to set.

    A mask naming only ``backgroundColor`` replaces the colour, so the stored
    ``backgroundColorStyle`` (which would win) must go, and the other way round.
    """
    out = dict(target)
    for key, sub in tree.items():
        base = color_pair_of(key)
        if base is not None:
            twin = base + "Style" if key == base else base
            if twin not in tree:
                out.pop(twin, None)
        if sub and isinstance(out.get(key), dict):
            out[key] = without_stale_twins(out[key], sub)
    return out


def without_zero_sheet_ids(node: Any) -> Any:
    """``node`` with ``"sheetId": 0`` dropped wherever it sits (proto3 omits the default)."""
    if isinstance(node, list):
        return [without_zero_sheet_ids(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        k: without_zero_sheet_ids(v)
        for k, v in node.items()
        if v is not None and not (k == "sheetId" and v == 0)
    }


def as_google_json(node: Any) -> Any:
    """A stored sheet-level object (merge, filter, rule, group) as Google answers it."""
    return without_zero_sheet_ids(with_colors_mirrored(node))
