"""A chart of a tab drawn as an SVG picture (columns and lines, one shared axis). Pure.

No plotting library and no script: the page gets a self-contained ``<svg>`` a person can
save, the way Google shows an embedded chart floating over the grid.
"""

from __future__ import annotations

from sheetledger.sandbox.web.grid import ChartData
from sheetledger.sandbox.web.html import Markup, h

__all__ = ["chart_svg"]

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 70
PALETTE = ("#4285f4", "#ea4335", "#fbbc04", "#34a853", "#ff6d01", "#46bdc6")


def _short(value: float) -> str:
    size = abs(value)
    if size >= 1_000_000:
        return f"{value / 1_000_000:.1f} млн".replace(".", ",")
    if size >= 1_000:
        return f"{value / 1_000:.0f} тыс."
    return f"{value:.0f}"


def chart_svg(chart: ChartData) -> Markup:
    """The chart as an ``<svg>`` element; a note instead when there is nothing to draw."""
    title = chart.title or "Диаграмма"
    if not chart.labels or not chart.series:
        return h("div", {"class": "chart empty"}, f"{title}: нет данных для диаграммы")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for s in chart.series for v in s.values]
    top = max([*values, 0.0]) or 1.0
    bottom = min([*values, 0.0])
    span = top - bottom or 1.0

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / span

    step = plot_w / len(chart.labels)
    bars = [s for s in chart.series if s.kind in ("COLUMN", "BAR", "STEPPED_AREA")]
    bar_w = step * 0.7 / max(len(bars), 1)
    parts: list[Markup] = [
        h("text", {"x": WIDTH / 2, "y": 22, "class": "title", "text-anchor": "middle"}, title)
    ]
    for i in range(5):  # the grid lines and the axis labels
        value = bottom + span * i / 4
        parts.append(h("line", {"x1": LEFT, "x2": WIDTH - RIGHT, "y1": y(value), "y2": y(value)}))
        parts.append(
            h("text", {"x": LEFT - 6, "y": y(value) + 4, "text-anchor": "end"}, _short(value))
        )
    every = max(1, len(chart.labels) // 12)
    for i, label in enumerate(chart.labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            parts.append(
                h(
                    "text",
                    {
                        "x": x,
                        "y": HEIGHT - BOTTOM + 16,
                        "text-anchor": "end",
                        "transform": f"rotate(-35 {x:.1f} {HEIGHT - BOTTOM + 16})",
                    },
                    label,
                )
            )
    for number, series in enumerate(chart.series):
        colour = PALETTE[number % len(PALETTE)]
        if series in bars:
            slot = bars.index(series)
            for i, value in enumerate(series.values):
                x = LEFT + step * i + step * 0.15 + bar_w * slot
                y0, y1 = sorted((y(value), y(0)))
                parts.append(
                    h(
                        "rect",
                        {
                            "x": f"{x:.1f}",
                            "y": f"{y0:.1f}",
                            "width": f"{bar_w:.1f}",
                            "height": f"{max(y1 - y0, 0.5):.1f}",
                            "fill": colour,
                        },
                        h("title", {}, f"{series.name} · {chart.labels[i]}: {_short(value)}"),
                    )
                )
        else:
            points = " ".join(
                f"{LEFT + step * (i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(series.values)
            )
            parts.append(
                h(
                    "polyline",
                    {"points": points, "fill": "none", "stroke": colour, "stroke-width": 2.5},
                )
            )
        lx = LEFT + number * 180
        parts.append(
            h("rect", {"x": lx, "y": HEIGHT - 18, "width": 12, "height": 12, "fill": colour})
        )
        parts.append(h("text", {"x": lx + 18, "y": HEIGHT - 8}, series.name or f"Ряд {number + 1}"))
    return h(
        "svg",
        {
            "class": "chart",
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "width": WIDTH,
            "height": HEIGHT,
            "role": "img",
            "aria-label": title,
        },
        parts,
    )
