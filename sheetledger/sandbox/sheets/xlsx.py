"""Drive's xlsx export: a small, valid OOXML workbook of every tab's values."""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape as xml_escape

from sheetledger.sandbox.a1 import column_letters
from sheetledger.sandbox.sheets.cells import Formula
from sheetledger.sandbox.sheets.formulas import FormulaError
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet


def xlsx_workbook(book: Spreadsheet) -> bytes:
    """A small, valid OOXML workbook with every tab's values (inline strings, no styles)."""
    names: list[str] = []
    for sheet in book.sheets:
        name = re.sub(r"[\[\]:*?/\\]", "_", sheet.title)[:31] or "Sheet"
        while name in names:
            name = name[:28] + f"_{len(names)}"
        names.append(name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(len(names))
        )
        archive.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/'
                'vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/'
                "vnd.openxmlformats-"
                'officedocument.spreadsheetml.sheet.main+xml"/>' + overrides + "</Types>"
            ),
        )
        archive.writestr(
            "_rels/.rels",
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
        )
        sheets_xml = "".join(
            f'<sheet name="{xml_escape(n, {chr(34): "&quot;"})}" '
            f'sheetId="{i + 1}" r:id="rId{i + 1}"/>'
            for i, n in enumerate(names)
        )
        archive.writestr(
            "xl/workbook.xml",
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f"<sheets>{sheets_xml}</sheets></workbook>"
            ),
        )
        rels = "".join(
            f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/'
            f'2006/relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
            for i in range(len(names))
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f"{rels}</Relationships>"
            ),
        )
        for i, sheet in enumerate(book.sheets):
            archive.writestr(f"xl/worksheets/sheet{i + 1}.xml", _sheet_xml(sheet))
    return buffer.getvalue()


def _sheet_xml(sheet: Sheet) -> str:
    rows_xml = []
    for r, row in enumerate(sheet.cells):
        cells_xml = []
        for c, value in enumerate(row):
            if value is None:
                continue
            ref = f"{column_letters(c)}{r + 1}"
            try:
                shown = sheet.computed(r, c)
            except FormulaError as exc:
                shown = exc.code
            formula = f"<f>{xml_escape(value[1:])}</f>" if isinstance(value, Formula) else ""
            if isinstance(shown, bool):
                cells_xml.append(f'<c r="{ref}" t="b">{formula}<v>{int(shown)}</v></c>')
            elif isinstance(shown, int | float):
                cells_xml.append(f'<c r="{ref}">{formula}<v>{shown!r}</v></c>')
            elif formula:
                cells_xml.append(
                    f'<c r="{ref}" t="str">{formula}<v>{xml_escape(str(shown or ""))}</v></c>'
                )
            else:
                cells_xml.append(
                    f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                    f"{xml_escape(str(shown))}</t></is></c>"
                )
        if cells_xml:
            rows_xml.append(f'<row r="{r + 1}">{"".join(cells_xml)}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(rows_xml)}</sheetData></worksheet>"
    )
