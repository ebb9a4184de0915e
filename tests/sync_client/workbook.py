"""Filling an emis-sync template programmatically, as a clerk would type it."""

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from sync_client.checks import FormDefinition
from sync_client.excel import FIRST_ROW, META, SCALAR_SHEET
from sync_client.values import flatten, parse_key


def fill(path: Path, defn: FormDefinition, returns: dict[str, dict[str, Any]]) -> None:
    """Type each school's wire values into the template at `path` (saved in place)."""
    wb = load_workbook(path)
    sheets = {
        str(r[1].value): str(r[2].value) for r in wb[META].iter_rows() if r[0].value == "sheet"
    }
    by_element = {v: k for k, v in sheets.items()}
    for school, values in returns.items():
        for key, value in flatten(defn, values).items():
            code, opts = parse_key(defn, key) or (key, [])
            el = defn.element(code)
            assert el is not None
            if not el.dimensions:
                ws = wb[by_element["*"]]
                header = [c.value for c in ws[2]]
                col = header.index(code) + 1
                row = next(
                    r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value == school
                )
                ws.cell(row, col, int(value) if isinstance(value, bool) else value)
                continue
            ws = wb[by_element[code]]
            header = [str(c.value) for c in ws[2]]
            row_opts = opts[:-1]
            col = header.index(opts[-1], 2 + len(row_opts)) + 1
            row = next(
                r
                for r in range(FIRST_ROW, ws.max_row + 1)
                if ws.cell(r, 1).value == school
                and [str(ws.cell(r, 3 + i).value) for i in range(len(row_opts))] == row_opts
            )
            ws.cell(row, col, value)
    assert SCALAR_SHEET in wb.sheetnames
    wb.save(path)
