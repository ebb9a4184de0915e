"""The departmental diagnosis report: what a directorate writes about its education system,
generated from the census (issue 13). `build` reads the figures of one unit and year through the
same services as the pages and the API; the rest are pure functions over rows: the sentences
that set the unit beside the nation, the consistency warnings, the ranking of the unit's parts.

Sections: 1 data note (coverage, population, release, warnings), 2 access, 3 internal
efficiency, 4 resources, 5 equity. Flow figures (rates, cohort) belong to the base year t =
the report's year − 1, so their outcome year is the report's year; both are named."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import InvalidInput, NotFound
from app.core.principal import Principal
from app.indicators.keep import Level
from app.registry.service import UnitRow
from app.web import charts, pages
from app.web import figures as fg
from app.web.charts import Chart
from app.web.text import Words

# One-year figures of the unit, its children and the nation, for every education level.
ONE_YEAR = (
    "GER", "NER", "GIR", "GIR_LAST", "PCT_REP", "PTR", "PCR", "QUAL_TEACH",
    "GPI_GER", "GPI_NER", "GPI_GIR", "GPI_GIR_LAST",
)  # fmt: skip
FLOW = ("PR", "RR", "DR", "SR", "SR_LAST", "CE", "YIG")  # as fg.flow_rows asks (same cache)
ACCESS_TABLE = ("GER", "NER", "GIR", "GIR_LAST", "GPI_GER")
ACCESS_SENTENCES = ("GER", "NER", "GIR", "GIR_LAST")
GPI_TABLE = ("GPI_GER", "GPI_NER", "GPI_GIR", "GPI_GIR_LAST")
RESOURCE_CODES = ("PTR", "PCR", "QUAL_TEACH")
# By locality: the figures whose denominator is in the returns (the population is not split by
# locality, so no GER, NER or GIR there).
LOCALITY_CODES = ("PCT_REP", "PTR", "PCR", "QUAL_TEACH")
LOCALITY_FLOW = ("SR_LAST", "CE")
KIND = {
    "GER": "percent", "NER": "percent", "GIR": "percent", "GIR_LAST": "percent",
    "PCT_REP": "percent", "QUAL_TEACH": "percent", "SR_LAST": "percent", "CE": "percent",
    "PR": "percent", "RR": "percent", "DR": "percent",
    "PTR": "ratio", "PCR": "ratio", "YIG": "ratio",
    "GPI_GER": "index", "GPI_NER": "index", "GPI_GIR": "index", "GPI_GIR_LAST": "index",
}  # fmt: skip
GER_JUMP = 15.0  # points of GER between consecutive years …
STEADY_ENROLMENT = 5.0  # … while enrolment moved less than this many per cent
MAX_POINTS = 500  # schools drawn in the allocation chart (the line and R² use all of them)


@dataclass
class Report:
    """Everything the report's template prints, already in the reader's language."""

    unit: UnitRow
    year: int
    lang: str
    level: Level
    level_name: str
    base: int
    outcome: int
    trail: list[str]
    author: str
    generated: str
    nation: str  # the nation's name when the unit is compared with it, else ""
    nation_note: str
    data: dict[str, Any] = field(default_factory=dict)
    access: dict[str, Any] = field(default_factory=dict)
    efficiency: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    equity: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    charts: dict[str, Chart] = field(default_factory=dict)


# ---------------------------------------------------------------- pure functions over rows

Key = tuple[str, str, str | None, str]  # unit, indicator, education level, split value


def index_rows(rows: Iterable[dict[str, Any]], split: str = "grade") -> dict[Key, dict[str, Any]]:
    """(unit, indicator, education level, value of `split` or "") -> row, for rows split by
    nothing else (both sexes, all ownerships and localities)."""
    out: dict[Key, dict[str, Any]] = {}
    for r in rows:
        d = dict(r.get("disaggregation") or {})
        part = str(d.pop(split, ""))
        if d:
            continue
        out[(r["unit"], r["indicator"], r.get("education_level"), part)] = r
    return out


def value_of(
    idx: dict[Key, dict[str, Any]], unit: str, code: str, level: str, part: str = ""
) -> float | None:
    """A figure's value; school-level figures (pupils per classroom) carry no level."""
    r = idx.get((unit, code, level, part)) or idx.get((unit, code, None, part))
    v = (r or {}).get("value")
    return None if v is None else float(v)


def compare(w: Words, code: str, value: float | None, nation: float | None) -> str:
    """One sentence setting a figure beside the nation's: "GIR 92.0%, 6.0 points below the
    national figure (98.0%)." The gap is taken between the printed (rounded) figures, so a
    reader who subtracts them finds the printed gap."""
    kind = KIND.get(code, "percent")
    name = w.t(f"report_abbr_{code}")
    if value is None:
        return w.t("report_no_value", name=name)
    text = w.figure(value, kind)
    if nation is None:
        return w.t("report_alone", name=name, value=text)
    digits = 2 if kind == "index" else 1
    gap = round(round(value, digits) - round(nation, digits), digits)
    if gap == 0:
        return w.t("report_equal", name=name, value=text, nation=w.figure(nation, kind))
    key = "report_above" if gap > 0 else "report_below"
    if kind != "percent":
        key += "_ratio"
    return w.t(
        key,
        name=name,
        value=text,
        diff=w.num(abs(gap), digits),
        nation=w.figure(nation, kind),
    )


def flow_warnings(
    w: Words, rows: Iterable[dict[str, Any]], grades: Sequence[str], base: int, outcome: int
) -> list[str]:
    """Flow rates that cannot be true: a negative dropout rate (more pupils in the outcome year
    than the base year can give) and a promotion rate above 100 %, per unit and grade."""
    out: list[str] = []
    order = {g: i for i, g in enumerate(grades)}
    picked = sorted(
        (
            r
            for r in rows
            if r.get("indicator") in ("DR", "PR")
            and set(r.get("disaggregation") or {}) == {"grade"}
            and r.get("value") is not None
        ),
        key=lambda r: (
            r.get("level", 0),
            r.get("unit_name", ""),
            order.get(r["disaggregation"]["grade"], 99),
            r["indicator"],
        ),
    )
    for r in picked:
        grade, value = r["disaggregation"]["grade"], float(r["value"])
        params = {
            "unit": r.get("unit_name") or r.get("unit", ""),
            "grade": grade,
            "value": w.pct(value),
            "base": base,
            "outcome": outcome,
        }
        if r["indicator"] == "DR" and round(value, 1) < 0:
            out.append(w.t("report_warn_dr", **params))
        elif r["indicator"] == "PR" and round(value, 1) > 100:
            out.append(w.t("report_warn_pr", **params))
    return out


def trend_warnings(w: Words, unit: str, trend: Sequence[dict[str, Any]]) -> list[str]:
    """A GER of `unit` that jumps by more than GER_JUMP points from one year to the next while
    its enrolment hardly moved: the population changed, not the schools."""
    out: list[str] = []
    points = sorted(
        (p for p in trend if p.get("ger") is not None and p.get("enrolment")),
        key=lambda p: p["year"],
    )
    for a, b in pairwise(points):
        if b["year"] != a["year"] + 1:
            continue
        jump = b["ger"] - a["ger"]
        moved = 100 * (b["enrolment"] - a["enrolment"]) / a["enrolment"]
        if abs(jump) > GER_JUMP and abs(moved) < STEADY_ENROLMENT:
            out.append(
                w.t(
                    "report_warn_ger",
                    unit=unit,
                    y0=a["year"],
                    y1=b["year"],
                    diff=w.num(abs(jump), 1),
                    ger0=w.pct(a["ger"]),
                    ger1=w.pct(b["ger"]),
                    enr=w.pct(abs(moved)),
                    e0=w.num(a["enrolment"], 0),
                    e1=w.num(b["enrolment"], 0),
                )
            )
    return out


def coverage_warnings(w: Words, rows: Iterable[dict[str, Any]], year: int) -> list[str]:
    """Units where fewer than COVERAGE_THRESHOLD % of the expected schools reported."""
    out = []
    for r in rows:
        rate = r.get("reporting_rate")
        if rate is not None and rate < fg.COVERAGE_THRESHOLD:
            out.append(
                w.t(
                    "report_warn_coverage",
                    unit=r["unit_name"],
                    pct=w.pct(rate),
                    year=year,
                    threshold=w.pct(fg.COVERAGE_THRESHOLD, 0),
                )
            )
    return out


def release_note(w: Words, release: Any | None, year: int) -> str:
    """Which figures the report shows: the latest release of the year (number and date) beside
    the working figures, or provisional working figures when none is published."""
    if release is None:
        return w.t("report_provisional", year=year)
    return w.t(
        "report_release",
        year=year,
        number=release.number,
        date=w.date(release.created_at.date()),
    )


def ranking(
    rows: Iterable[tuple[str, float | None]],
) -> tuple[list[tuple[str, float]], float | None]:
    """(unit, value) sorted highest first, those without a value left out, and the ratio of
    the highest to the lowest (None with fewer than two values or a lowest of 0)."""
    ranked = sorted(((n, v) for n, v in rows if v is not None), key=lambda nv: -nv[1])
    if len(ranked) < 2 or ranked[-1][1] <= 0:
        return ranked, None
    return ranked, ranked[0][1] / ranked[-1][1]


def with_legend(spec: dict[str, Any]) -> dict[str, Any]:
    """A line chart whose series can be told apart on paper: the dash pattern's legend merged
    into the colour's (charts.lines hides the dash legend, which hides the merged legend too)."""
    enc = spec.get("encoding") or {}
    dash = enc.get("strokeDash")
    if not dash or "legend" not in dash:
        return spec
    return {
        **spec,
        "encoding": {**enc, "strokeDash": {k: v for k, v in dash.items() if k != "legend"}},
    }


# ---------------------------------------------------------------- reading the figures


def build(
    session: Session,
    user: Principal,
    code: str,
    year: int | None,
    lang: str,
    level: str = "",
    today: date | None = None,
) -> Report:
    """The report of unit `code` for `year` (default: the latest year) at education level
    `level` (default: primary), as `user` may see it."""
    w = Words(lang)
    ctx = fg.unit_context(session, user, code, year)
    if year is None:
        if not ctx.years:
            raise NotFound("No school year is registered.")
        year = ctx.years[0]
        ctx = fg.unit_context(session, user, code, year)
    if year not in ctx.years:
        raise NotFound(f"No school year {year} is registered.")
    codes = [lv.code for lv in ctx.levels]
    level = level or ("primary" if "primary" in codes else (codes[0] if codes else ""))
    if level not in codes:
        raise InvalidInput(
            f"Unknown education level {level[:40]!r}; use one of {', '.join(codes)}."
        )
    lv = next(x for x in ctx.levels if x.code == level)
    f = fg.Filters(year=year, level=level)
    unit = ctx.unit
    me = unit.code
    base = year - 1 if year - 1 in ctx.years else year
    top = next((u for u in ctx.units if u.level == 0), None)
    national = top is not None and unit.level > 0 and user.covers(top.path)
    nat = top.code if national and top is not None else ""
    rep = Report(
        unit=unit,
        year=year,
        lang=w.lang,
        level=lv,
        level_name=w.t(f"level_{lv.code}"),
        base=base,
        outcome=base + 1,
        trail=[p.name for p in ctx.parents],
        author=user.username,
        generated=w.date(today or date.today()),
        nation=top.name if national and top is not None else "",
        nation_note=""
        if national or unit.level == 0
        else w.t("report_no_nation", area=user.unit_code),
    )

    # One-year figures: the unit and its children, and the nation, every education level.
    levels = (unit.level,) if ctx.leaf else (unit.level, unit.level + 1)
    rows = fg.working_rows(session, user, f, me, levels, ONE_YEAR, w.lang, education_levels=None)
    if national:
        rows += fg.working_rows(
            session, user, f, nat, (0,), ONE_YEAR, w.lang, education_levels=None
        )
    one = index_rows(rows)
    flows = fg.flow_rows(session, user, f, ctx, w.lang, base)
    # The base year once for the unit and its children: their GER (the enrolment trend) and
    # their rates (a district's bad data hides in the region's sums).
    earlier = (
        fg.working_rows(session, user, f, me, levels, ("GER", "PR", "DR"), w.lang, year=base)
        if base != year
        else []
    )
    parts = [r for r in earlier if r["level"] == unit.level + 1 and r["indicator"] != "GER"]
    nation_flows = fg.flow_rows(session, user, f, ctx, w.lang, base, unit=nat) if national else []
    flow = index_rows(flows + nation_flows)

    def mine(c: str, lvl: str = level) -> float | None:
        return value_of(one, me, c, lvl)

    def nations(c: str, lvl: str = level) -> float | None:
        return value_of(one, nat, c, lvl) if national else None

    _data_note(session, user, ctx, rep, w, year)
    trends = _trend(session, user, f, ctx, w, lv, {base: earlier, year: rows})
    _access(rep, w, ctx, lv, trends.get(me, []), mine, nations)
    flow_page = pages.flow(session, user, ctx, f, w)
    _efficiency(rep, w, lv, flows, flow, me, nat, mine, nations, flow_page)
    _resources(session, user, ctx, f, rep, w, mine, nations)
    _equity(session, user, ctx, f, rep, w, base, one, flow, mine, nations)
    rep.warnings = (
        rep.data["coverage_warnings"]
        + rep.data["population_warnings"]
        + flow_warnings(w, flows + parts, lv.grades, base, base + 1)
        + [
            line
            for u in [unit, *ctx.children]
            for line in trend_warnings(w, u.name, trends.get(u.code, []))
        ]
    )
    return rep


def _data_note(
    session: Session, user: Principal, ctx: fg.Context, rep: Report, w: Words, year: int
) -> None:
    unit = ctx.unit
    below = unit.level + 1 if not ctx.leaf else unit.level
    found = fg.completeness_rows(session, user, year, below, unit.code)
    cov = [r.public(with_missing=False) for r in found]
    pop = fg.population(session, year)
    with_people = {uid for (uid, _age, _sex), v in pop.items() if v}
    by_code = {u.code: u for u in ctx.units}

    def has_population(u: UnitRow) -> bool:
        return any(x.id in with_people for x in ctx.units if x.path.startswith(u.path))

    rows = []
    for r in cov:
        u = by_code.get(r["unit"])
        people = u is not None and has_population(u)
        rows.append(
            {
                "name": r["unit_name"],
                "expected": w.num(r["expected"], 0),
                "received": w.num(r["received"], 0),
                "approved": w.num(r["approved"], 0),
                "rate": w.pct(r["reporting_rate"]),
                "low": r["reporting_rate"] is not None
                and r["reporting_rate"] < fg.COVERAGE_THRESHOLD,
                "population": w.t("report_yes") if people else w.t("report_none"),
                "no_population": not people,
            }
        )
    expected = sum(r["expected"] for r in cov)
    received = sum(r["received"] for r in cov)
    approved = sum(r["approved"] for r in cov)
    rate = 100 * received / expected if expected else None
    no_people = [r["name"] for r in rows if r["no_population"]]
    if not has_population(unit) and unit.name not in no_people:
        no_people.insert(0, unit.name)
    release_text = release_note(w, ctx.release, year)
    pop_warn = (
        [w.t("report_warn_population", units=", ".join(no_people), year=year)] if no_people else []
    )
    total_row = {"unit_name": unit.name, "reporting_rate": rate}
    rep.data = {
        "coverage": rows,
        "total": {
            "name": unit.name,
            "expected": w.num(expected, 0),
            "received": w.num(received, 0),
            "approved": w.num(approved, 0),
            "rate": w.pct(rate),
        },
        "coverage_sentence": w.t(
            "report_coverage",
            received=w.num(received, 0),
            expected=w.num(expected, 0),
            pct=w.pct(rate),
            year=year,
        ),
        "population": w.t("report_population", year=year),
        "no_population": no_people,
        "release": release_text,
        "coverage_warnings": coverage_warnings(w, [total_row], year)
        + coverage_warnings(w, [r for r in cov if r["unit"] != unit.code], year),
        "population_warnings": pop_warn,
    }


def _trend(
    session: Session,
    user: Principal,
    f: fg.Filters,
    ctx: fg.Context,
    w: Words,
    lv: Level,
    known: dict[int, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """The level's enrolment and GER in every year up to the report's, of the unit and its
    children, from the GER row of each year: its numerator is the level's enrolment (all ages,
    every grade of the level), the total the enrolment aggregates give, from the kept totals.
    `known`: rows already read, by year."""
    unit = ctx.unit
    levels = (unit.level,) if ctx.leaf else (unit.level, unit.level + 1)
    out: dict[str, list[dict[str, Any]]] = {}
    for y in sorted(y for y in ctx.years if y <= f.year):
        if y in known:
            got = known[y]
        else:
            got = fg.working_rows(
                session, user, replace(f, year=y), unit.code, levels, ("GER",), w.lang
            )
        for (code, indicator, level, part), row in index_rows(got).items():
            if indicator != "GER" or level != lv.code or part or row.get("numerator") is None:
                continue
            out.setdefault(code, []).append(
                {"year": y, "enrolment": int(row["numerator"]), "ger": row.get("value")}
            )
    return out


def _access(
    rep: Report,
    w: Words,
    ctx: fg.Context,
    lv: Level,
    trend: list[dict[str, Any]],
    mine: Any,
    nations: Any,
) -> None:
    table = []
    for level in ctx.levels:
        cells = []
        for c in ACCESS_TABLE:
            v, n = mine(c, level.code), nations(c, level.code)
            kind = KIND[c]
            cells.append(
                {"text": w.figure(v, kind), "nation": w.figure(n, kind) if rep.nation else ""}
            )
        table.append({"name": w.t(f"level_{level.code}"), "cells": cells})
    sentences = [compare(w, c, mine(c), nations(c)) for c in ACCESS_SENTENCES]
    rep.access = {
        "trend": [
            {
                "year": p["year"],
                "enrolment": w.num(p["enrolment"], 0),
                "ger": w.pct(p["ger"]),
            }
            for p in trend
        ],
        "columns": [w.t(f"report_abbr_{c}") for c in ACCESS_TABLE],
        "table": table,
        "sentences": sentences,
        "gpi": compare(w, "GPI_GER", mine("GPI_GER"), nations("GPI_GER")),
    }
    title = w.t("report_trend_title", level=rep.level_name)
    data = [{"year": str(p["year"]), "enrolment": p["enrolment"]} for p in trend]
    rep.charts["trend"] = charts.Chart(
        "trend",
        title,
        _narrow(charts.bars("trend", title, data, "year", "enrolment", w.t("year"), w.t("pupils"))),
        [("year", w.t("year")), ("enrolment", w.t("pupils"))],
        data,
    )


def _narrow(spec: dict[str, Any]) -> dict[str, Any]:
    """A chart of a few bars: half the page wide, labels level."""
    out = {**spec, "width": 40 * max(3, len(spec["data"]["values"])) + 80, "height": 170}
    for layer in out.get("layer", []):
        x = (layer.get("encoding") or {}).get("x")
        if x and "axis" in x:
            x["axis"] = {**x["axis"], "labelAngle": 0}
    return out


def _efficiency(
    rep: Report,
    w: Words,
    lv: Level,
    flows: list[dict[str, Any]],
    flow: dict[Key, dict[str, Any]],
    me: str,
    nat: str,
    mine: Any,
    nations: Any,
    flow_page: dict[str, Any],
) -> None:
    def fv(unit: str, c: str, g: str = "") -> float | None:
        return value_of(flow, unit, c, lv.code, g) if unit else None

    grades = []
    for g in lv.grades:
        pr, rr, dr = fv(me, "PR", g), fv(me, "RR", g), fv(me, "DR", g)
        grades.append(
            {
                "grade": g,
                "PR": w.pct(pr),
                "RR": w.pct(rr),
                "DR": w.pct(dr),
                "bad_pr": pr is not None and round(pr, 1) > 100,
                "bad_dr": dr is not None and round(dr, 1) < 0,
            }
        )
    sentences = [compare(w, "PCT_REP", mine("PCT_REP"), nations("PCT_REP"))]
    sentences += [compare(w, c, fv(me, c), fv(nat, c)) for c in ("SR_LAST", "CE", "YIG")]
    cohort = next(
        (r for r in flows if r["indicator"] == "SR_LAST" and not r.get("disaggregation")), None
    )
    rep.efficiency = {
        "sentences": sentences,
        "rates_title": w.t("flow_rates", base=rep.base, outcome=rep.outcome),
        "grades": grades,
        "caveat": w.t("flow_caveat") if rep.unit.level > 0 else "",
        # The cohort model's method, as the service words it (in English only).
        "method": (cohort or {}).get("method", "") if w.lang == "en" else "",
    }
    for c in flow_page["charts"]:
        if c.id in ("cohort", "survival", "profile"):
            rep.charts[c.id] = replace(c, spec=with_legend(c.spec))


def _resources(
    session: Session,
    user: Principal,
    ctx: fg.Context,
    f: fg.Filters,
    rep: Report,
    w: Words,
    mine: Any,
    nations: Any,
) -> None:
    res = pages.resources(session, user, ctx, f, w)
    fit = res["fit"]
    sentences = [compare(w, c, mine(c), nations(c)) for c in RESOURCE_CODES]
    if fit is not None:
        r2 = fit[2]
        coherence = [
            w.t("r_squared", r2=w.num(r2, 2), share=w.pct(100 * r2, 0)),
            w.t("report_randomness", value=w.num(1 - r2, 2)),
        ]
    else:
        coherence = [w.t("report_no_fit")]
    chart = next(c for c in res["charts"] if c.id == "allocation")
    points = chart.rows
    drawn = min(len(points), MAX_POINTS)
    title = chart.title
    spec = charts.scatter_with_line(
        title,
        points,
        "pupils",
        "teachers",
        w.t("pupils"),
        w.t("teachers"),
        (fit[0], fit[1]) if fit else None,
        w.t("fitted_line"),
        "school",
        sample=MAX_POINTS,
    )
    note = (
        w.t("report_sampled", drawn=w.num(drawn, 0), total=w.num(len(points), 0))
        if drawn < len(points)
        else ""
    )
    rep.charts["allocation"] = charts.Chart("allocation", title, spec, chart.columns, [], note)

    def school_rows(found: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [
            {
                "school": f"{r['school_name']} ({r['school']})",
                "pupils": w.num(r["pupils"], 0),
                "teachers": w.num(r["teachers"], 0),
                "expected": w.num(r["expected"], 1),
            }
            for r in found[:5]
        ]

    rep.resources = {
        "sentences": sentences,
        "coherence": coherence,
        "public": w.num(res["public"], 0),
        "under": school_rows(res["under"]),
        "over": school_rows(res["over"]),
    }


def _equity(
    session: Session,
    user: Principal,
    ctx: fg.Context,
    f: fg.Filters,
    rep: Report,
    w: Words,
    base: int,
    one: dict[Key, dict[str, Any]],
    flow: dict[Key, dict[str, Any]],
    mine: Any,
    nations: Any,
) -> None:
    unit = ctx.unit
    gpi = []
    for level in ctx.levels:
        cells = []
        for c in GPI_TABLE:
            v, n = mine(c, level.code), nations(c, level.code)
            cells.append({"text": w.num(v, 2), "nation": w.num(n, 2) if rep.nation else ""})
        gpi.append({"name": w.t(f"level_{level.code}"), "cells": cells})
    # Urban and rural: the same figures split by locality (as the filter bar's choice gives).
    loc_rows = fg.working_rows(
        session, user, f, unit.code, (unit.level,), LOCALITY_CODES, w.lang, by=("locality",)
    )
    loc_rows += fg.working_rows(
        session, user, f, unit.code, (unit.level,), LOCALITY_FLOW, w.lang, by=("locality",),
        year=base,
    )  # fmt: skip
    by_loc = index_rows(loc_rows, split="locality")
    localities = list(ctx.localities)
    loc_table = []
    for c in (*LOCALITY_CODES, *LOCALITY_FLOW):
        kind = KIND[c]
        label = w.t(f"report_abbr_{c}")
        if c in LOCALITY_FLOW:
            label += f" ({base}→{base + 1})"
        total = value_of(flow if c in LOCALITY_FLOW else one, unit.code, c, f.level)
        loc_table.append(
            {
                "label": label,
                "cells": [
                    w.figure(value_of(by_loc, unit.code, c, f.level, loc), kind)
                    for loc in localities
                ],
                "total": w.figure(total, kind),
            }
        )
    # The unit's parts ranked by GER (a district's parts are schools: no population, no GER).
    names = {c.code: c.name for c in ctx.children}
    ranked, ratio = ranking(
        (child.code, value_of(one, child.code, "GER", f.level)) for child in ctx.children
    )
    missing = [c.name for c in ctx.children if value_of(one, c.code, "GER", f.level) is None]
    own = value_of(one, unit.code, "GER", f.level)
    rank_rows = [
        {
            "rank": i + 1,
            "name": names[child],
            "ger": w.pct(v),
            "ptr": w.num(value_of(one, child, "PTR", f.level), 1),
        }
        for i, (child, v) in enumerate(ranked)
    ]
    if ratio is not None:
        rank_sentence = w.t(
            "report_ratio",
            high=names[ranked[0][0]],
            hv=w.pct(ranked[0][1]),
            low=names[ranked[-1][0]],
            lv=w.pct(ranked[-1][1]),
            ratio=w.num(ratio, 2),
        )
    elif ctx.leaf:
        rank_sentence = w.t("report_no_parts")
    else:
        rank_sentence = w.t("report_no_ratio")
    rep.equity = {
        "gpi_columns": [w.t(f"report_abbr_{c}") for c in GPI_TABLE],
        "gpi": gpi,
        "gpi_sentence": compare(w, "GPI_GER", mine("GPI_GER"), nations("GPI_GER")),
        "localities": [w.option("locality", loc) for loc in localities],
        "locality_table": loc_table,
        "locality_note": w.t("report_locality_note"),
        "ranking": rank_rows,
        "ranking_sentence": rank_sentence,
        "ranking_missing": missing,
        "leaf": ctx.leaf,
    }
    if len(ranked) >= 2:
        title = w.t("report_ranking_title", unit=unit.name)
        data = [{"unit": names[c], "value": round(v, 1)} for c, v in ranked]
        rep.charts["ranking"] = charts.Chart(
            "ranking",
            title,
            charts.bars(
                "ranking",
                title,
                data,
                "unit",
                "value",
                w.t("unit"),
                w.t("ind_GER") + " (%)",
                reference=own,
                reference_label=unit.name,
            ),
            [("unit", w.t("unit")), ("value", w.t("ind_GER"))],
            data,
        )
