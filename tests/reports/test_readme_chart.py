"""The README's chart: the picture is committed, and its script draws it with the report's code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_readme_shows_the_committed_chart() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/img/marketing-vs-turnover.png)" in readme
    assert (ROOT / "docs" / "img" / "marketing-vs-turnover.png").read_bytes().startswith(PNG)


def test_the_script_draws_it_from_a_year_of_figures(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("readme_chart", ROOT / "scripts/readme_chart.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    sources = script.ledger()
    assert len({e["date"].month for e in sources["expenses"]}) == 12
    out = script.main(tmp_path / "chart.png")
    assert out.read_bytes().startswith(PNG)
