"""The pages' contents: each builder reads the figures of one unit (or school) for the filter
bar's choices and returns what its template shows, with its charts and their data tables."""

import heapq
from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from app.core.cache import LruCache
from app.core.errors import NotFound
from app.core.principal import Principal
from app.indicators import service as ind
from app.indicators.definitions import definition, localized
from app.indicators.service import DEFAULT_FORM
from app.registry import service as registry
from app.returns import service as returns
from app.web import charts
from app.web import figures as fg
from app.web.text import Words

UNITS = {
    "GER": "percent", "NER": "percent", "GIR": "percent", "GIR_LAST": "percent",
    "GPI_GER": "index", "PTR": "ratio", "PCR": "ratio", "PCT_REP": "percent", "SR_LAST": "percent",
}  # fmt: skip


def _definition(code: str, lang: str) -> dict[str, str] | None:
    d = definition(code)
    return localized(d, lang) if d is not None else None


def _part(w: Words, v: float | None) -> str:
    """A numerator or denominator: whole numbers as such, others (a GPI's GERs) to 1 decimal."""
    if isinstance(v, float) and not v.is_integer():
        return w.num(v, 1)
    return w.num(None if v is None else round(v), 0)


def tile(
    code: str,
    row: dict[str, Any] | None,
    w: Words,
    f: fg.Filters,
    nation: dict[Any, Any],
    ranges: dict[str, tuple[float, float]],
) -> dict[str, Any]:
    unit = UNITS.get(code, "percent")
    cov = (row or {}).get("coverage") or {}
    expected, reported = cov.get("schools_expected") or 0, cov.get("schools_reported") or 0
    share = 100 * reported / expected if expected else None
    value = (row or {}).get("value")
    greyed = value is not None and share is not None and share < fg.COVERAGE_THRESHOLD
    defn = _definition(code, w.lang)
    out = {
        "code": code,
        "label": w.t(f"ind_{code}"),
        "value": value,
        "text": w.figure(value, unit),
        "numerator": _part(w, (row or {}).get("numerator")),
        "denominator": _part(w, (row or {}).get("denominator")),
        "coverage": w.t("coverage", reported=w.num(reported, 0), expected=w.num(expected, 0))
        if row
        else "",
        "greyed": greyed,
        "why_grey": w.t(
            "low_coverage", pct=w.pct(share, 0), threshold=w.pct(fg.COVERAGE_THRESHOLD, 0)
        )
        if greyed
        else "",
        "why_null": (defn or {}).get("null_when", "") if row is not None and value is None else "",
        "definition": defn,
        "not_by_sex": bool(f.sex) and code in fg.NOT_BY_SEX,
        "years": (row or {}).get("base_year"),
        "outcome_year": (row or {}).get("outcome_year"),
        "nation": "",
        "siblings": "",
    }
    nat = next((r for (u, c), r in nation.items() if c == code), None)
    if nat is not None:
        out["nation"] = w.t("vs_nation", value=w.figure(nat.get("value"), unit))
    if code in ranges:
        lo, hi = ranges[code]
        out["siblings"] = w.t("siblings", low=w.figure(lo, unit), high=w.figure(hi, unit))
    return out


def overview(
    session: Session,
    user: Principal,
    ctx: fg.Context,
    f: fg.Filters,
    w: Words,
    sort: str,
    desc: bool,
) -> dict[str, Any]:
    figs = fg.figures(session, user, f, ctx, w.lang)
    nation, ranges = fg.nation_and_siblings(session, user, f, ctx, w.lang)
    me = ctx.unit.code
    tiles = [tile(code, figs.get((me, code)), w, f, nation, ranges) for code in fg.TILES]
    page: dict[str, Any] = {"tiles": tiles, "charts": []}
    if not ctx.leaf:
        rows = []
        for child in ctx.children:
            row: dict[str, Any] = {"code": child.code, "name": child.name}
            for code in fg.TILES:
                r = figs.get((child.code, code))
                row[code] = r.get("value") if r else None
                cov = (r or {}).get("coverage") or {}
                row[f"{code}_low"] = (
                    bool(cov.get("schools_expected"))
                    and 100 * (cov.get("schools_reported") or 0) / cov["schools_expected"]
                    < fg.COVERAGE_THRESHOLD
                )
            rows.append(row)
        _sort(rows, sort if sort in fg.TILES else "code", desc)
        page["children"] = rows
        page["columns"] = [(c, w.t(f"ind_{c}"), UNITS[c]) for c in fg.TILES]
        ger = [{"unit": r["name"], "value": r["GER"]} for r in rows if r["GER"] is not None]
        own = figs.get((me, "GER"), {}).get("value")
        page["charts"].append(
            charts.Chart(
                "ger-children",
                f"{w.t('ind_GER')} — {w.t('children', unit=ctx.unit.name)}",
                charts.bars(
                    "ger-children",
                    f"{w.t('ind_GER')} — {w.t('children', unit=ctx.unit.name)}",
                    ger,
                    "unit",
                    "value",
                    w.t("unit"),
                    w.t("ind_GER") + " (%)",
                    reference=own,
                    reference_label=ctx.unit.name,
                ),
                [("unit", w.t("unit")), ("value", w.t("ind_GER") + " (%)")],
                ger,
            )
        )
    else:
        rows = fg.schools(session, user, f, ctx.unit.code)
        key = (
            sort
            if sort in ("pupils", "teachers", "PTR", "PCR", "PCT_REP", "return_status")
            else "school"
        )
        _sort(rows, key, desc)
        page["schools"] = rows
    return page


def _sort(rows: list[dict[str, Any]], key: str, desc: bool) -> None:
    """Sort by a column, no value last whichever the direction."""
    have = [r for r in rows if r.get(key) is not None]
    none = [r for r in rows if r.get(key) is None]
    have.sort(key=lambda r: r[key], reverse=desc)
    rows[:] = have + none


def school_page(
    session: Session, user: Principal, code: str, f: fg.Filters, w: Words
) -> dict[str, Any]:
    school, unit = registry.school_in_area(session, user, code)
    ret = None
    history = None
    try:
        ret = returns.get_return(session, user, DEFAULT_FORM, f.year, code, w.lang)
        history = returns.get_history(session, user, DEFAULT_FORM, f.year, code, w.lang)
    except NotFound:
        pass
    values = []
    if ret is not None:
        for element, v in ret.values.items():
            if isinstance(v, list):
                for cell in v:
                    dims = ", ".join(f"{k}={cell[k]}" for k in cell if k != "value")
                    values.append((element, dims, cell.get("value")))
            else:
                values.append((element, "", v))
    return {"school": school, "unit": unit, "ret": ret, "history": history, "values": values}


def _by_grade(
    rows: list[dict[str, Any]], code: str, level: str, sex: str
) -> dict[str, dict[str, Any]]:
    out = {}
    for r in rows:
        d = r.get("disaggregation") or {}
        if (
            r["indicator"] == code
            and r.get("education_level") == level
            and "grade" in d
            and d.get("sex", "") == sex
        ):
            out[d["grade"]] = r
    return out


def _one(rows: list[dict[str, Any]], code: str, level: str, sex: str) -> dict[str, Any] | None:
    for r in rows:
        d = r.get("disaggregation") or {}
        if (
            r["indicator"] == code
            and r.get("education_level") == level
            and "grade" not in d
            and d.get("sex", "") == sex
        ):
            return r
    return None


def flow(
    session: Session, user: Principal, ctx: fg.Context, f: fg.Filters, w: Words
) -> dict[str, Any]:
    """Cohort, survival, flow rates (base year t = the year before the chosen one when there is
    one, so the outcome year is the chosen year) and the schooling profile."""
    base = f.year - 1 if f.year - 1 in ctx.years else f.year
    rows = fg.flow_rows(session, user, f, ctx, w.lang, base)
    level = next((lv for lv in ctx.levels if lv.code == f.level), ctx.levels[0])
    sex = f.sex
    pr, rr, dr = (_by_grade(rows, c, level.code, sex) for c in ("PR", "RR", "DR"))
    sr = _by_grade(rows, "SR", level.code, sex)
    outcome = base + 1
    rates = []
    for g in level.grades:
        for code, label, src in (
            ("PR", w.t("promotion"), pr),
            ("RR", w.t("repetition"), rr),
            ("DR", w.t("dropout"), dr),
        ):
            v = (src.get(g) or {}).get("value")
            rates.append(
                {
                    "grade": g,
                    "rate": label,
                    "code": code,
                    "value": None if v is None else round(v, 1),
                }
            )
    survival = [
        {
            "grade": g,
            "series": ctx.unit.name,
            "value": None if (sr.get(g) or {}).get("value") is None else round(sr[g]["value"], 1),
        }
        for g in level.grades
    ]
    top = next((u for u in ctx.units if u.level == 0), None)
    if top is not None and ctx.unit.level > 0 and user.covers(top.path):
        nat_rows = fg.flow_rows(session, user, f, ctx, w.lang, base, unit=top.code)
        nsr = _by_grade(nat_rows, "SR", level.code, sex)
        survival += [
            {
                "grade": g,
                "series": w.t("national_line"),
                "value": None
                if (nsr.get(g) or {}).get("value") is None
                else round(nsr[g]["value"], 1),
            }
            for g in level.grades
        ]
    # The cohort of 1,000: how many reach each grade, then graduates and drop-outs.
    cohort = []
    for g in level.grades:
        v = (sr.get(g) or {}).get("value")
        cohort.append(
            {"stage": f"{w.t('grade')} {g}", "pupils": None if v is None else round(10 * v, 1)}
        )
    ce, yig, last = (_one(rows, c, level.code, sex) for c in ("CE", "YIG", "SR_LAST"))
    last_pr = (pr.get(level.grades[-1]) or {}).get("value")
    last_sr = (last or {}).get("value")
    if last_sr is not None and last_pr is not None:
        # Of those reaching the last grade, the graduating share (promotion out of it, over
        # promotion and dropout: repeaters stay and graduate or drop out later).
        d_last = (dr.get(level.grades[-1]) or {}).get("value") or 0
        grads = 10 * last_sr * last_pr / (last_pr + d_last) if (last_pr + d_last) else None
        cohort.append(
            {"stage": w.t("graduates"), "pupils": None if grads is None else round(grads, 1)}
        )
        cohort.append(
            {"stage": w.t("dropouts"), "pupils": None if grads is None else round(1000 - grads, 1)}
        )
    profile = schooling_profile(session, user, ctx, f, w, level)
    title_rates = w.t("flow_rates", base=base, outcome=outcome)
    cl = [
        charts.Chart(
            "cohort",
            w.t("cohort_flow"),
            charts.bars(
                "cohort",
                w.t("cohort_flow"),
                [c for c in cohort if c["pupils"] is not None],
                "stage",
                "pupils",
                "",
                w.t("pupils"),
            ),
            [("stage", ""), ("pupils", w.t("pupils"))],
            cohort,
        ),
        charts.Chart(
            "survival",
            w.t("survival_curve"),
            charts.lines(
                w.t("survival_curve"),
                [s for s in survival if s["value"] is not None],
                "grade",
                "value",
                "series",
                w.t("grade"),
                w.t("survival"),
                w.t("series"),
                y_max=100,
            ),
            [("series", w.t("series")), ("grade", w.t("grade")), ("value", w.t("survival"))],
            survival,
        ),
        charts.Chart(
            "rates",
            title_rates,
            charts.bars(
                "rates",
                title_rates,
                [r for r in rates if r["value"] is not None],
                "grade",
                "value",
                w.t("grade"),
                w.t("rate"),
                color="rate",
                color_title=w.t("rate"),
                stack=True,
            ),
            [("grade", w.t("grade")), ("rate", w.t("rate")), ("value", w.t("rate"))],
            rates,
        ),
        charts.Chart(
            "profile",
            w.t("schooling_profile"),
            charts.lines(
                w.t("schooling_profile"),
                [p for p in profile if p["value"] is not None],
                "grade",
                "value",
                "series",
                w.t("grade"),
                w.t("access_rate"),
                w.t("series"),
            ),
            [("series", w.t("series")), ("grade", w.t("grade")), ("value", w.t("access_rate"))],
            profile,
        ),
    ]
    return {
        "base": base,
        "outcome": outcome,
        "level": level,
        "charts": cl,
        "ce": ce,
        "yig": yig,
        "sr_last": last,
        "caveat": ctx.unit.level > 0,
        "method": (last or {}).get("method", ""),
    }


def schooling_profile(
    session: Session, user: Principal, ctx: fg.Context, f: fg.Filters, w: Words, level: Any
) -> list[dict[str, Any]]:
    """Access rate by grade: new entrants to grade g (enrolment − repeaters) over the population
    of the grade's theoretical age, by sex and for both, with the national line."""

    def access(unit: Any) -> dict[tuple[str, str], float | None]:
        enr = fg.aggregate_rows(
            session, user, f, unit.code, unit.level, "enrolment", ("grade", "sex")
        )
        rep = fg.aggregate_rows(
            session, user, f, unit.code, unit.level, "repeaters", ("grade", "sex")
        )
        pop = fg.population(session, f.year)
        inside = {u.id for u in ctx.units if u.path.startswith(unit.path)}
        people: dict[tuple[int, str], int] = defaultdict(int)
        for (uid, age, sx), v in pop.items():
            if uid in inside:
                people[(age, sx)] += v
        e: dict[tuple[str, str], int] = defaultdict(int)
        r: dict[tuple[str, str], int] = defaultdict(int)
        for row in enr:
            d = row["disaggregation"]
            e[(d["grade"], d["sex"])] += row["value"] or 0
        for row in rep:
            d = row["disaggregation"]
            r[(d["grade"], d["sex"])] += row["value"] or 0
        out: dict[tuple[str, str], float | None] = {}
        for i, g in enumerate(level.grades):
            age = level.entrance_age + i
            for sx in ("F", "M", ""):
                sexes = (sx,) if sx else ("F", "M")
                num = sum(e[(g, s)] - r[(g, s)] for s in sexes)
                den = sum(people.get((age, s), 0) for s in sexes)
                out[(g, sx)] = round(100 * num / den, 1) if den else None
        return out

    mine = access(ctx.unit)
    rows = []
    for sx, label in (("F", w.t("sex_F")), ("M", w.t("sex_M")), ("", w.t("sex_all"))):
        for g in level.grades:
            rows.append(
                {"grade": g, "series": f"{ctx.unit.name} — {label}", "value": mine[(g, sx)]}
            )
    top = next((u for u in ctx.units if u.level == 0), None)
    if top is not None and ctx.unit.level > 0 and user.covers(top.path):
        nat = access(top)
        rows += [
            {"grade": g, "series": w.t("national_line"), "value": nat[(g, "")]}
            for g in level.grades
        ]
    return rows


_pages = LruCache(size=32)


def resources(
    session: Session, user: Principal, ctx: fg.Context, f: fg.Filters, w: Words
) -> dict[str, Any]:
    """Teacher allocation: one dot per public school, and PTR dispersion by unit. Kept per
    version of the data: at the nation it is 14,000 dots at 20,000 schools."""
    key = ("resources", ind.data_version(session), user.unit_path, ctx.unit.code, f, w.lang)
    return _pages.get_or_build(key, lambda: _resources(session, user, ctx, f, w))


def _resources(
    session: Session, user: Principal, ctx: fg.Context, f: fg.Filters, w: Words
) -> dict[str, Any]:
    rows = fg.schools(session, user, f, ctx.unit.code)
    # One pass: the dots (public schools with pupils and teachers) and the fit's sums.
    points: list[dict[str, Any]] = []
    drawn: list[dict[str, Any]] = []  # the school rows behind the dots
    sx = sy = sxx = syy = sxy = 0.0
    for r in rows:
        if r["ownership"] == "public" and r["pupils"] and r["teachers"]:
            x, y = r["pupils"], r["teachers"]
            drawn.append(r)
            points.append(
                {"school": r["school_name"], "code": r["school"], "pupils": x, "teachers": y}
            )
            sx += x
            sy += y
            sxx += x * x
            syy += y * y
            sxy += x * y
    fit = charts.fit_from_sums(len(points), sx, sy, sxx, syy, sxy)
    under: list[dict[str, Any]] = []
    over: list[dict[str, Any]] = []
    if fit is not None:
        a, b, _r2 = fit

        def priced(r: dict[str, Any]) -> dict[str, Any]:
            expected = a + b * r["pupils"]
            return {**r, "expected": expected, "gap": r["teachers"] - expected}

        gaps = [r["teachers"] - (a + b * r["pupils"]) for r in drawn]
        at = gaps.__getitem__
        # Only the ten furthest each way are listed: pick them, then price them.
        idx = range(len(drawn))
        under = [priced(drawn[i]) for i in heapq.nsmallest(10, idx, key=at) if gaps[i] < 0]
        over = [priced(drawn[i]) for i in heapq.nlargest(10, idx, key=at) if gaps[i] >= 0]
    groups = [
        u
        for u in ctx.units
        if u.path.startswith(ctx.unit.path)
        and u.level == (ctx.unit.level + 1 if not ctx.leaf else ctx.unit.level)
    ]
    # Schools' own units are leaves; on a page above them, name each by its child unit.
    leaf_to_child: dict[str, str] = {}
    if not ctx.leaf:
        for child in groups:
            for u in ctx.units:
                if u.path.startswith(child.path):
                    leaf_to_child[u.name] = child.name
    ptrs: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["PTR"] is not None:
            ptrs[leaf_to_child.get(r["unit_name"], r["unit_name"])].append(r["PTR"])
    disp = []
    for unit_name in sorted(ptrs):
        q = charts.quartiles(ptrs[unit_name])
        if q is not None:
            disp.append({"unit": unit_name, **{k: round(v, 1) for k, v in q.items()}})
    title = w.t("allocation", n=w.num(len(points), 0))
    cl = [
        charts.Chart(
            "allocation",
            title,
            charts.scatter_with_line(
                title,
                points,
                "pupils",
                "teachers",
                w.t("pupils"),
                w.t("teachers"),
                (fit[0], fit[1]) if fit else None,
                w.t("fitted_line"),
                "school",
            ),
            [
                ("code", w.t("code")),
                ("school", w.t("school")),
                ("pupils", w.t("pupils")),
                ("teachers", w.t("teachers")),
            ],
            points,
        ),
        charts.Chart(
            "ptr",
            w.t("ptr_dispersion"),
            charts.boxplot(w.t("ptr_dispersion"), disp, "unit", w.t("unit"), w.t("ind_PTR")),
            [
                ("unit", w.t("unit")),
                ("n", w.t("schools")),
                ("min", "min"),
                ("q1", w.t("q1")),
                ("median", w.t("median")),
                ("q3", w.t("q3")),
                ("max", "max"),
            ],
            disp,
        ),
    ]
    return {"fit": fit, "under": under[:10], "over": over[:10], "charts": cl, "public": len(points)}


def completeness_page(
    session: Session, user: Principal, ctx: fg.Context, f: fg.Filters, w: Words
) -> dict[str, Any]:
    level = ctx.unit.level + 1 if not ctx.leaf else ctx.unit.level
    found = fg.completeness_rows(session, user, f.year, level, ctx.unit.code)
    rows = [r.public(with_missing=True) for r in found]
    missing = []
    for r in rows:
        for code in r["missing"]:
            missing.append({"school": code, "unit": r["unit"], "unit_name": r["unit_name"]})
    long = []
    for r in rows:
        for key in ("expected", "received", "approved", "late"):
            long.append({"unit": r["unit_name"], "measure": w.t(key), "schools": r[key]})
    title = w.t("completeness_title", year=f.year)
    cl = [
        charts.Chart(
            "completeness",
            title,
            charts.bars(
                "completeness",
                title,
                long,
                "unit",
                "schools",
                w.t("unit"),
                w.t("expected"),
                color="measure",
                color_title="",
                stack=False,
            ),
            [("unit", w.t("unit")), ("measure", ""), ("schools", w.t("expected"))],
            long,
        )
    ]
    # Each school not yet reported, with its own unit (its district), not only the row's.
    listing = {s.code: s for s in registry.schools_under(session, ctx.unit.path)} if missing else {}
    for m in missing:
        school = listing.get(m["school"])
        m["name"] = school.name if school else ""
        m["district"] = school.unit_name if school else m["unit_name"]
    return {"rows": rows, "missing": missing, "charts": cl}
