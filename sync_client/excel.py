"""Files in and out: the Excel template (openpyxl) and the readers of filled xlsx, csv and json.

Template layout: one sheet per data element with dimensions, one row per school and combination
of all dimensions but the last, one column per option of the last (enrolment: a row per school,
grade and sex, a column per age); elements without dimensions share the sheet `school`, one
column each. Row 1 is the title, row 2 the headers, figures from row 3. A hidden sheet `_emis`
records the form code, version and year, and which sheet holds which element."""

import csv
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from sync_client.checks import FormDefinition
from sync_client.messages import t
from sync_client.values import Flat, cell_key, flatten

META = "_emis"
SCALAR_SHEET = "school"
FIRST_ROW = 3
LAYOUT = 1
GREY = PatternFill("solid", fgColor="DDDDDD")
Lookup = Callable[[str], dict[str, Any] | None]

INSTRUCTIONS = [
    (
        "How to fill in this workbook",
        "Comment remplir ce classeur",
    ),
    (
        "1. Each sheet is one part of the census form; each row is one school (and grade, sex… "
        "where the sheet has them). Do not change the grey columns (codes and names).",
        "1. Chaque feuille est une partie du formulaire ; chaque ligne est une école (et une "
        "classe, un sexe… si la feuille en a). Ne modifiez pas les colonnes grises (codes, noms).",
    ),
    (
        "2. Type whole numbers (0 or more) in the white cells. Write 0 when there are none; "
        "leave a cell blank only when the figure is not known.",
        "2. Tapez des nombres entiers (0 ou plus) dans les cases blanches. Écrivez 0 s'il n'y en "
        "a pas ; ne laissez une case vide que si le chiffre n'est pas connu.",
    ),
    (
        "3. On the sheet 'school', yes/no questions take 1 (yes / oui) or 0 (no / non); dates "
        "are written YYYY-MM-DD.",
        "3. Sur la feuille « school », les questions oui/non prennent 1 (oui / yes) ou 0 "
        "(non / no) ; les dates s'écrivent AAAA-MM-JJ.",
    ),
    (
        "4. Save the file, then run: emis-sync import FILE.xlsx. Every problem is listed with "
        "its sheet, row and cell; nothing is imported until the file is right.",
        "4. Enregistrez le fichier, puis lancez : emis-sync import FICHIER.xlsx. Chaque problème "
        "est indiqué avec sa feuille, sa ligne et sa case ; rien n'est importé tant que le "
        "fichier n'est pas correct.",
    ),
]


def _text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or "")
    return str(value)


def _both(value: Any) -> str:
    en, fr = _text(value, "en"), _text(value, "fr")
    return en if en == fr else f"{en} / {fr}"


def write_template(
    path: Path, defn: FormDefinition, year: int, schools: list[dict[str, Any]]
) -> None:
    """Write the workbook for these schools (codes and names filled in, cells typed)."""
    wb = Workbook()
    info = wb.active
    assert info is not None
    info.title = "Instructions"
    info["A1"] = f"{_both(defn.title)} — {year}"
    info["A1"].font = Font(bold=True, size=14)
    info["A2"] = f"form / formulaire: {defn.code}, version {defn.version}; year / année: {year}"
    row = 4
    for en, fr in INSTRUCTIONS:
        info.cell(row=row, column=1, value=en).alignment = Alignment(wrap_text=True)
        info.cell(row=row, column=2, value=fr).alignment = Alignment(wrap_text=True)
        row += 1
    info["A4"].font = info["B4"].font = Font(bold=True)
    info.column_dimensions["A"].width = 70
    info.column_dimensions["B"].width = 70

    meta = wb.create_sheet(META)
    for r, (k, v) in enumerate(
        [("form", defn.code), ("form_version", defn.version), ("year", year), ("layout", LAYOUT)],
        start=1,
    ):
        meta.cell(row=r, column=1, value=k)
        meta.cell(row=r, column=2, value=v)
    meta_row = 6
    schools = sorted(schools, key=lambda s: s["code"])

    scalars = [e for e in defn.elements if not e.dimensions]
    for el in [e for e in defn.elements if e.dimensions]:
        ws = wb.create_sheet(el.code[:31])
        meta.cell(row=meta_row, column=1, value="sheet")
        meta.cell(row=meta_row, column=2, value=ws.title)
        meta.cell(row=meta_row, column=3, value=el.code)
        meta_row += 1
        ws["A1"] = _both(el.label)
        ws["A1"].font = Font(bold=True)
        row_dims, col_dim = el.dimensions[:-1], el.dimensions[-1]
        col_opts = defn.categories[col_dim].options
        headers = [
            "School code / Code école",
            "School name / Nom de l'école",
            *[_both(defn.categories[d].label) for d in row_dims],
            *col_opts,
        ]
        for c, h in enumerate(headers, start=1):
            cell = ws.cell(row=2, column=c, value=h)
            cell.font = Font(bold=True)
            cell.fill = GREY
        first_value = 3 + len(row_dims)
        r = FIRST_ROW
        combos = list(itertools.product(*[defn.categories[d].options for d in row_dims]))
        for s in schools:
            for combo in combos:
                for c, v in enumerate([s["code"], s["name"], *combo], start=1):
                    ws.cell(row=r, column=c, value=v).fill = GREY
                for c in range(first_value, first_value + len(col_opts)):
                    ws.cell(row=r, column=c).number_format = "0"
                r += 1
        last_col = get_column_letter(first_value + len(col_opts) - 1)
        if r > FIRST_ROW:
            _whole(ws, f"{get_column_letter(first_value)}{FIRST_ROW}:{last_col}{r - 1}")
        ws.freeze_panes = ws.cell(row=FIRST_ROW, column=first_value)
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 28

    if scalars:
        ws = wb.create_sheet(SCALAR_SHEET)
        meta.cell(row=meta_row, column=1, value="sheet")
        meta.cell(row=meta_row, column=2, value=ws.title)
        meta.cell(row=meta_row, column=3, value="*")
        ws["A1"] = "School / École"
        ws["A1"].font = Font(bold=True)
        headers = ["School code / Code école", "School name / Nom de l'école"]
        headers += [e.code for e in scalars]
        for c, h in enumerate(headers, start=1):
            cell = ws.cell(row=2, column=c, value=h)
            cell.font = Font(bold=True)
            cell.fill = GREY
            if c > 2:
                cell.alignment = Alignment(wrap_text=True)
                ws.column_dimensions[get_column_letter(c)].width = 16
        for r, s in enumerate(schools, start=FIRST_ROW):
            ws.cell(row=r, column=1, value=s["code"]).fill = GREY
            ws.cell(row=r, column=2, value=s["name"]).fill = GREY
        last = FIRST_ROW + len(schools) - 1
        for c, el in enumerate(scalars, start=3):
            col = get_column_letter(c)
            ws.cell(row=1, column=c, value=_both(el.label)).alignment = Alignment(wrap_text=True)
            if last < FIRST_ROW:
                continue
            rng = f"{col}{FIRST_ROW}:{col}{last}"
            if el.type == "count":
                _whole(ws, rng)
            elif el.type == "boolean":
                _whole(ws, rng, high=1)
            elif el.type == "date":
                dv = DataValidation(type="date", allow_blank=True, showErrorMessage=True)
                dv.error = "YYYY-MM-DD / AAAA-MM-JJ"
                ws.add_data_validation(dv)
                dv.add(rng)
                for r in range(FIRST_ROW, last + 1):
                    ws.cell(row=r, column=c).number_format = "yyyy-mm-dd"
        ws.freeze_panes = "C3"
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 28
    meta.sheet_state = "hidden"
    wb.save(path)


def _whole(ws: Any, rng: str, high: int | None = None) -> None:
    if high is None:
        dv = DataValidation(
            type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True
        )
        dv.error = "Whole number, 0 or more / Nombre entier, 0 ou plus"
    else:
        dv = DataValidation(
            type="whole", operator="between", formula1="0", formula2=str(high), allow_blank=True
        )
        dv.error = "1 = yes / oui, 0 = no / non"
    dv.showErrorMessage = True
    dv.errorTitle = "EMIS"
    ws.add_data_validation(dv)
    dv.add(rng)


# ---------------------------------------------------------------- reading


@dataclass
class Parsed:
    """What a file holds: flat values per school, where each cell came from, and problems."""

    form: str | None = None
    form_version: int | None = None
    year: int | None = None
    returns: dict[str, Flat] = field(default_factory=dict)
    where: dict[tuple[str, str], tuple[str, int | None, str]] = field(default_factory=dict)
    problems: list[Any] = field(default_factory=list)
    # JSON: where a school's return is in the file (sheet = file name, row = line or None)
    places: dict[str, tuple[str, int | None, str]] = field(default_factory=dict)
    stream: Iterator[tuple[str, Flat]] | None = None

    def items(self) -> Iterator[tuple[str, Flat]]:
        """Each school's cells, once; the read ones are let go as they are handed out."""
        while self.returns:
            code = next(iter(self.returns))
            yield code, self.returns.pop(code)
        if self.stream is not None:
            yield from self.stream

    def locate(self, school: str, path: str) -> tuple[str, int | None, str]:
        """Sheet, row and cell of a finding's path (as near as the file allows)."""
        key = path.removeprefix("values.")
        if (school, key) in self.where:
            return self.where[(school, key)]
        if school in self.places:
            sheet, row, cell = self.places[school]
            return sheet, row, f"{cell}.{path}" if cell else path
        return "", None, path


class _Reader:
    def __init__(self, defn: FormDefinition, lang: str, lookup: Lookup) -> None:
        self.defn = defn
        self.lang = lang
        self.lookup = lookup
        self.out = Parsed()
        self.closed_reported: set[str] = set()

    def problem(
        self,
        code: str,
        message: str,
        fix: str,
        sheet: str,
        row: int | None,
        cell: str,
        school: str = "",
    ) -> None:
        from sync_client.client import Problem

        s = self.lookup(school) if school else None
        self.out.problems.append(
            Problem(code, message, fix, sheet, row, cell, school, (s or {}).get("name", ""))
        )

    def school_ok(self, code: str, sheet: str, row: int | None, cell: str) -> bool:
        """Known and open in the registry; else one problem (once per closed school)."""
        s = self.lookup(code)
        if s is None:
            self.problem(
                "UNKNOWN_SCHOOL",
                t("unknown_school", self.lang, school=code),
                t("fix_unknown_school", self.lang),
                sheet,
                row,
                cell,
                code,
            )
            return False
        if s.get("status", "open") != "open":
            if code not in self.closed_reported:
                self.closed_reported.add(code)
                self.problem(
                    "CLOSED_SCHOOL",
                    t("closed_school", self.lang, school=code, name=s.get("name", "")),
                    t("fix_closed_school", self.lang),
                    sheet,
                    row,
                    cell,
                    code,
                )
            return False
        return True

    def value(
        self, kind: str, raw: Any, key: str, sheet: str, row: int, cell: str, school: str
    ) -> tuple[bool, Any]:
        """(ok, typed value); blank is (True, None)."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return True, None
        lang = self.lang

        def bad(code: str, msg: str, fix: str) -> tuple[bool, Any]:
            self.problem(code, f"{key}: {msg}", fix, sheet, row, cell, school)
            return False, None

        if kind == "count":
            n: int | None = None
            if isinstance(raw, bool):
                n = None
            elif isinstance(raw, int):
                n = raw
            elif isinstance(raw, float) and raw.is_integer():
                n = int(raw)
            elif isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
                n = int(raw.strip())
            if n is None:
                return bad("NOT_WHOLE", t("not_whole", lang, value=raw), t("fix_whole", lang))
            if n < 0:
                return bad("NEGATIVE", t("negative", lang, value=n), t("fix_whole", lang))
            return True, n
        if kind == "boolean":
            from sync_client.client import _boolean

            b = _boolean(raw)
            if b is None:
                return bad("NOT_YES_NO", t("not_yes_no", lang, value=raw), t("fix_yes_no", lang))
            return True, b
        if kind == "date":
            if isinstance(raw, datetime):
                return True, raw.date().isoformat()
            if isinstance(raw, date):
                return True, raw.isoformat()
            try:
                return True, date.fromisoformat(str(raw).strip()).isoformat()
            except ValueError:
                return bad("NOT_DATE", t("not_date", lang, value=raw), t("fix_date", lang))
        return True, str(raw).strip()

    def put(
        self, school: str, key: str, value: Any, sheet: str, row: int | None, cell: str
    ) -> None:
        flat = self.out.returns.setdefault(school, {})
        if key in flat:
            other = self.out.where[(school, key)]
            self.problem(
                "TWICE",
                f"{key}: " + t("twice", self.lang, other=f"{other[0]} {other[2]}"),
                t("fix_twice", self.lang),
                sheet,
                row,
                cell,
                school,
            )
            return
        flat[key] = value
        self.out.where[(school, key)] = (sheet, row, cell)

    def option(
        self, dim: str, raw: Any, sheet: str, row: int, cell: str, school: str
    ) -> str | None:
        opts = self.defn.categories[dim].options
        text = "" if raw is None else str(raw).strip()
        if isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        if text in opts:
            return text
        self.problem(
            "UNKNOWN_OPTION",
            t("unknown_option", self.lang, value=text, dim=dim, options=", ".join(opts)),
            t("fix_option", self.lang),
            sheet,
            row,
            cell,
            school,
        )
        return None


def read_file(path: Path, defn: FormDefinition, year: int, lang: str, lookup: Lookup) -> Parsed:
    """Parse a filled xlsx, csv or json file; every problem is collected, none raised."""
    reader = _Reader(defn, lang, lookup)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            _read_xlsx(reader, path)
        elif suffix == ".csv":
            _read_csv(reader, path)
        elif suffix == ".json":
            _read_json(reader, path)
        elif suffix in (".jsonl", ".ndjson"):
            _read_jsonl(reader, path)
        else:
            raise ValueError(suffix or "no extension")
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        reader.problem(
            "BAD_FILE",
            t("bad_file", lang, file=path.name, error=str(exc) or type(exc).__name__),
            t("fix_bad_file", lang),
            "",
            None,
            "",
        )
    return reader.out


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _read_xlsx(reader: _Reader, path: Path) -> None:
    defn, lang = reader.defn, reader.lang
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        if META not in wb.sheetnames:
            reader.problem(
                "NOT_TEMPLATE", t("not_template", lang), t("fix_template", lang), "", None, ""
            )
            return
        sheets: dict[str, str] = {}
        for row in wb[META].iter_rows(values_only=True):
            if not row or row[0] is None:
                continue
            k = str(row[0])
            if k == "form":
                reader.out.form = str(row[1])
            elif k == "form_version":
                reader.out.form_version = int(str(row[1]))
            elif k == "year":
                reader.out.year = int(str(row[1]))
            elif k == "sheet" and len(row) > 2:
                sheets[str(row[1])] = str(row[2])
        for sheet, element in sheets.items():
            if sheet not in wb.sheetnames:
                continue
            ws = wb[sheet]
            rows = ws.iter_rows(min_row=2, values_only=True)
            header = list(next(rows, ()) or ())
            if element == "*":
                _read_scalar_sheet(reader, sheet, header, rows)
                continue
            el = defn.element(element)
            if el is None:
                continue
            row_dims = el.dimensions[:-1]
            first_value = 2 + len(row_dims)
            col_opts = [str(h).strip() if h is not None else "" for h in header[first_value:]]
            for r, values in enumerate(rows, start=FIRST_ROW):
                values = tuple(values or ())
                figures = values[first_value:]
                if all(_blank(v) for v in figures):
                    continue  # a blank row (or a school not filled in): skipped, not reported
                code = "" if _blank(values[0] if values else None) else str(values[0]).strip()
                if not code:
                    reader.problem(
                        "NO_CODE", t("no_code", lang), t("fix_no_code", lang), sheet, r, f"A{r}"
                    )
                    continue
                if not reader.school_ok(code, sheet, r, f"A{r}"):
                    continue
                opts: list[str] = []
                for i, d in enumerate(row_dims):
                    o = reader.option(
                        d,
                        values[2 + i] if len(values) > 2 + i else None,
                        sheet,
                        r,
                        f"{get_column_letter(3 + i)}{r}",
                        code,
                    )
                    if o is None:
                        break
                    opts.append(o)
                else:
                    for j, raw in enumerate(figures):
                        if j >= len(col_opts) or _blank(raw):
                            continue
                        ref = f"{get_column_letter(first_value + j + 1)}{r}"
                        last = reader.option(el.dimensions[-1], col_opts[j], sheet, 2, ref, code)
                        if last is None:
                            continue
                        key = cell_key(el.code, el.dimensions, [*opts, last])
                        ok, v = reader.value(el.type, raw, key, sheet, r, ref, code)
                        if ok and v is not None:
                            reader.put(code, key, v, sheet, r, ref)
    finally:
        wb.close()


def _read_scalar_sheet(reader: _Reader, sheet: str, header: list[Any], rows: Any) -> None:
    defn, lang = reader.defn, reader.lang
    columns = [str(h).strip() if h is not None else "" for h in header[2:]]
    for r, values in enumerate(rows, start=FIRST_ROW):
        values = tuple(values or ())
        figures = values[2:]
        if all(_blank(v) for v in figures):
            continue
        code = "" if _blank(values[0] if values else None) else str(values[0]).strip()
        if not code:
            reader.problem("NO_CODE", t("no_code", lang), t("fix_no_code", lang), sheet, r, f"A{r}")
            continue
        if not reader.school_ok(code, sheet, r, f"A{r}"):
            continue
        for j, raw in enumerate(figures):
            if j >= len(columns) or _blank(raw):
                continue
            el = defn.element(columns[j])
            if el is None or el.dimensions:
                continue
            ref = f"{get_column_letter(3 + j)}{r}"
            ok, v = reader.value(el.type, raw, el.code, sheet, r, ref, code)
            if ok and v is not None:
                reader.put(code, el.code, v, sheet, r, ref)


def _read_csv(reader: _Reader, path: Path) -> None:
    """Long format: school, element, one column per dimension used, value."""
    defn, lang, sheet = reader.defn, reader.lang, path.name
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("school", "element", "value") if c not in header]
    if missing:
        reader.problem(
            "MISSING_COLUMNS",
            t("missing_columns", lang, columns=", ".join(missing)),
            t("fix_columns", lang),
            sheet,
            1,
            "",
        )
        return
    col = {h: i for i, h in enumerate(header)}
    vcol = get_column_letter(col["value"] + 1)
    for r, values in enumerate(rows[1:], start=2):
        values = values + [""] * (len(header) - len(values))
        if all(not v.strip() for v in values):
            continue
        raw = values[col["value"]]
        if not raw.strip():
            continue
        code = values[col["school"]].strip()
        if not code:
            reader.problem("NO_CODE", t("no_code", lang), t("fix_no_code", lang), sheet, r, f"A{r}")
            continue
        if not reader.school_ok(code, sheet, r, f"{get_column_letter(col['school'] + 1)}{r}"):
            continue
        ename = values[col["element"]].strip()
        el = defn.element(ename)
        ecol = f"{get_column_letter(col['element'] + 1)}{r}"
        if el is None:
            reader.problem(
                "UNKNOWN_ELEMENT",
                t("unknown_element", lang, value=ename),
                t("fix_element", lang),
                sheet,
                r,
                ecol,
                code,
            )
            continue
        opts: list[str] = []
        for d in el.dimensions:
            ref = f"{get_column_letter(col[d] + 1)}{r}" if d in col else ecol
            o = reader.option(d, values[col[d]] if d in col else "", sheet, r, ref, code)
            if o is None:
                break
            opts.append(o)
        else:
            key = cell_key(el.code, el.dimensions, opts)
            ok, v = reader.value(el.type, raw, key, sheet, r, f"{vcol}{r}", code)
            if ok and v is not None:
                reader.put(code, key, v, sheet, r, f"{vcol}{r}")


def _read_json(reader: _Reader, path: Path) -> None:
    """{"form", "form_version", "year", "returns": [{"school", "values"}]} (or just the list)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        _json_header(reader, data)
        items = data.get("returns", [])
    else:
        items = data
    del data
    for n in range(len(items)):
        item, items[n] = items[n], None  # let each return go once read
        got = _json_return(reader, path.name, None, f"returns[{n}]", item)
        if got is not None:
            if got[0] in reader.out.returns:
                _twice(reader, path.name, None, f"returns[{n}]", got[0])
                continue
            reader.out.returns[got[0]] = got[1]


def _read_jsonl(reader: _Reader, path: Path) -> None:
    """One JSON object a line: {"school", "values"}; a first line without "school" may give
    "form", "form_version" and "year". Read as it is imported (any size of file)."""
    f = open(path, encoding="utf-8")  # noqa: SIM115  # closed by the generator
    first = f.readline()
    line_no = 1
    head = json.loads(first) if first.strip() else {}
    pending: list[tuple[int, Any]] = []
    if isinstance(head, dict) and "school" not in head:
        _json_header(reader, head)
    else:
        pending.append((1, head))

    def stream() -> Iterator[tuple[str, Flat]]:
        nonlocal line_no
        seen: set[str] = set()
        try:
            lines: Iterator[tuple[int, Any]] = iter(pending)
            for n, item in itertools.chain(lines, _lines(f, line_no)):
                got = _json_return(reader, path.name, n, "", item)
                if got is None:
                    continue
                if got[0] in seen:
                    _twice(reader, path.name, n, "", got[0])
                    continue
                seen.add(got[0])
                reader.out.places[got[0]] = (path.name, n, "")
                yield got
        finally:
            f.close()

    reader.out.stream = stream()


def _lines(f: Any, after: int) -> Iterator[tuple[int, Any]]:
    for n, line in enumerate(f, start=after + 1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except ValueError as exc:
                yield n, {"__bad__": str(exc)}


def _json_header(reader: _Reader, data: dict[str, Any]) -> None:
    reader.out.form = data.get("form")
    if data.get("form_version") is not None:
        reader.out.form_version = int(data["form_version"])
    if data.get("year") is not None:
        reader.out.year = int(data["year"])


def _twice(reader: _Reader, sheet: str, row: int | None, where: str, code: str) -> None:
    other = reader.out.places.get(code, ("", None, ""))
    reader.problem(
        "TWICE",
        t("twice", reader.lang, other=f"{other[2] or other[1]}"),
        t("fix_twice", reader.lang),
        sheet,
        row,
        where,
        code,
    )


def _json_return(
    reader: _Reader, sheet: str, row: int | None, where: str, item: Any
) -> tuple[str, Flat] | None:
    if isinstance(item, dict) and "__bad__" in item:
        reader.problem(
            "BAD_FILE",
            t("bad_file", reader.lang, file=sheet, error=item["__bad__"]),
            t("fix_bad_file", reader.lang),
            sheet,
            row,
            where,
        )
        return None
    code = str(item.get("school", "")).strip() if isinstance(item, dict) else ""
    if not code:
        reader.problem(
            "NO_CODE",
            t("no_code", reader.lang),
            t("fix_no_code", reader.lang),
            sheet,
            row,
            where,
        )
        return None
    if not reader.school_ok(code, sheet, row, where):
        return None
    values = item.get("values")
    reader.out.places.setdefault(code, (sheet, row, where))
    if not isinstance(values, dict):
        values = {"": values}
    return code, flatten(reader.defn, values)
