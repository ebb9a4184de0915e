"""What the pages show, read through the features' own services (the same rows as the API).

Every page reads the figures of one unit and its children for a year, an education level and
the filter bar's choices (sex, ownership, locality), either as working figures (everything
stored except invalid, provisional) or from the latest release of the year (frozen, approved)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from app.core.audit import last_event_id
from app.core.cache import LruCache
from app.core.errors import NotFound
from app.core.principal import Principal
from app.indicators import service as ind
from app.indicators.keep import structure_of
from app.indicators.schools import SchoolQuery, school_figures
from app.publishing import service as publishing
from app.registry import service as registry
from app.registry.service import UnitRow
from app.review.completeness import UnitCompleteness, completeness

TILES = ("GER", "NER", "GIR", "GIR_LAST", "GPI_GER", "PTR", "PCR", "PCT_REP", "SR_LAST")
ONE_YEAR_TILES = tuple(c for c in TILES if c != "SR_LAST")
NOT_BY_SEX = {"GPI_GER", "PTR", "PCR"}
COVERAGE_THRESHOLD = 80.0  # % of expected schools below which a figure is greyed
SOURCES = ("working", "release")


@dataclass(frozen=True)
class Filters:
    """The filter bar: one set of choices for every tile, table and chart of a page."""

    year: int
    level: str
    sex: str = ""
    ownership: str = ""
    locality: str = ""
    source: str = "working"

    def params(self, **over: Any) -> dict[str, str]:
        d = {
            "year": str(self.year),
            "level": self.level,
            "sex": self.sex,
            "ownership": self.ownership,
            "locality": self.locality,
            "source": self.source,
            **{k: str(v) for k, v in over.items()},
        }
        return {k: v for k, v in d.items() if v not in ("", None)}


@dataclass
class Context:
    """What every page needs besides its own figures."""

    unit: UnitRow
    parents: list[UnitRow]
    children: list[UnitRow]
    years: list[int]
    levels: list[Any]
    ownerships: list[str]
    localities: list[str]
    release: Any | None
    leaf: bool  # the unit's children are schools
    units: list[UnitRow] = field(default_factory=list)


def unit_context(session: Session, user: Principal, code: str, year: int | None) -> Context:
    units = registry.all_units(session)
    by_code = {u.code: u for u in units}
    unit = by_code.get(code)
    if unit is None:
        raise NotFound(f"No admin unit has the code {code!r}.")
    if not user.covers(unit.path):
        from app.core.errors import Forbidden

        raise Forbidden(f"Unit {code!r} lies outside your area ({user.unit_code}).")
    ids = [int(i) for i in unit.path.strip("/").split("/")]
    by_id = {u.id: u for u in units}
    parents = [by_id[i] for i in ids[:-1] if i in by_id and user.covers(by_id[i].path)]
    children = [u for u in units if u.level == unit.level + 1 and u.path.startswith(unit.path)]
    years = sorted(registry.years_by_number(session), reverse=True)
    levels = [lv for lv in structure_of(session).levels]
    release = None
    if year is not None:
        found = publishing.list_releases(session, ind.DEFAULT_FORM, year)
        release = found[-1] if found else None
    return Context(
        unit=unit,
        parents=parents,
        children=children,
        years=years,
        levels=levels,
        ownerships=["public", "private", "community", "faith_based"],
        localities=["urban", "rural"],
        release=release,
        leaf=not children,
        units=units,
    )


def _query(
    f: Filters, unit: str | None, levels: Sequence[int], codes: Iterable[str], **over: Any
) -> ind.IndicatorQuery:
    codes = tuple(codes)
    return ind.IndicatorQuery(
        year=over.get("year", f.year),
        levels=tuple(sorted(set(levels))),
        unit=unit,
        indicators=codes,
        education_levels=over.get("education_levels", (f.level,)),
        by=over.get("by", ("sex",) if f.sex and any(c not in NOT_BY_SEX for c in codes) else ()),
        statuses=ind.DEFAULT_STATUSES,
        form=ind.DEFAULT_FORM,
        cap=None,
        ownership=(f.ownership,) if f.ownership else None,
        locality=(f.locality,) if f.locality else None,
        lang=over.get("lang", "en"),
    )


def _pick(
    rows: Iterable[dict[str, Any]], f: Filters, keep_grade: bool = False
) -> dict[tuple[str, str], dict[str, Any]]:
    """(unit, indicator) -> the row the filters ask for (the sex asked, else the total)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r.get("education_level") not in (f.level, None):
            continue
        d = dict(r.get("disaggregation") or {})
        if not keep_grade and "grade" in d:
            continue
        sex = d.pop("sex", "")
        d.pop("grade", None)
        if d:
            continue
        key = (r["unit"], r["indicator"])
        if sex == "":
            totals[key] = r
        if sex == (f.sex or ""):
            out[key] = r
    for key, r in totals.items():
        out.setdefault(key, r)  # not split by sex: the total, said so on the page
    return out


def working_rows(
    session: Session,
    user: Principal,
    f: Filters,
    unit: str,
    levels: Sequence[int],
    codes: Sequence[str],
    lang: str = "en",
    **over: Any,
) -> list[dict[str, Any]]:
    q = _query(f, unit, levels, codes, lang=lang, **over)
    rows = list(ind.indicators(session, user, q).data["rows"])
    if f.sex and q.by:  # the totals too, for the codes not split by sex
        rows += ind.indicators(session, user, replace(q, by=())).data["rows"]
    return rows


def figures(
    session: Session,
    user: Principal,
    f: Filters,
    ctx: Context,
    lang: str,
    unit: str | None = None,
    levels: Sequence[int] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The tiles' indicators of `unit` (default: the page's) at `levels` (default: the unit and
    its children), from the source the filter bar names."""
    code = unit or ctx.unit.code
    lv = levels if levels is not None else (ctx.unit.level, ctx.unit.level + 1)
    if f.source == "release" and ctx.release is not None:
        wanted_units = {
            u.code
            for u in ctx.units
            if u.level in lv and (u.code == code or u.path.startswith(_path(ctx, code)))
        }
        rows = [
            r
            for r in publishing.rows_for(session, user, ctx.release)["indicators"]
            if r["unit"] in wanted_units and r["indicator"] in TILES
        ]
        return _pick(rows, replace(f, ownership="", locality=""))
    rows = working_rows(session, user, f, code, lv, ONE_YEAR_TILES, lang)
    if f.year - 1 in ctx.years:  # survival: the cohort whose outcome year is this one
        rows += working_rows(session, user, f, code, lv, ("SR_LAST",), lang, year=f.year - 1)
    return _pick(rows, f)


def _path(ctx: Context, code: str) -> str:
    return next((u.path for u in ctx.units if u.code == code), "/")


def nation_and_siblings(
    session: Session, user: Principal, f: Filters, ctx: Context, lang: str
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, tuple[float, float]]]:
    """The nation's tiles (when the reader's area is the nation) and, per indicator, the range
    of the unit's siblings (when the reader sees the parent)."""
    nation: dict[tuple[str, str], dict[str, Any]] = {}
    top = next((u for u in ctx.units if u.level == 0), None)
    if top is not None and user.covers(top.path) and ctx.unit.level > 0:
        nation = figures(session, user, f, ctx, lang, unit=top.code, levels=(0,))
    ranges: dict[str, tuple[float, float]] = {}
    if ctx.parents and ctx.unit.level > 0:
        parent = ctx.parents[-1]
        sib = figures(session, user, f, ctx, lang, unit=parent.code, levels=(ctx.unit.level,))
        for code in TILES:
            vals = [
                r["value"] for (u, c), r in sib.items() if c == code and r.get("value") is not None
            ]
            if len(vals) > 1:
                ranges[code] = (min(vals), max(vals))
    return nation, ranges


def schools(session: Session, user: Principal, f: Filters, unit: str) -> list[dict[str, Any]]:
    q = SchoolQuery(year=f.year, unit=unit, education_level=f.level, statuses=ind.DEFAULT_STATUSES)
    rows = school_figures(session, user, q).data["rows"]
    return [
        r
        for r in rows
        if (not f.ownership or r["ownership"] == f.ownership)
        and (not f.locality or r["locality"] == f.locality)
    ]


def flow_rows(
    session: Session,
    user: Principal,
    f: Filters,
    ctx: Context,
    lang: str,
    base: int,
    unit: str | None = None,
) -> list[dict[str, Any]]:
    code = unit or ctx.unit.code
    lv = (next(u.level for u in ctx.units if u.code == code),)
    return working_rows(
        session,
        user,
        f,
        code,
        lv,
        ("PR", "RR", "DR", "SR", "SR_LAST", "CE", "YIG"),
        lang,
        year=base,
    )


def aggregate_rows(
    session: Session,
    user: Principal,
    f: Filters,
    unit: str,
    level: int,
    element: str,
    by: tuple[str, ...],
) -> list[dict[str, Any]]:
    q = ind.AggregateQuery(
        year=f.year,
        levels=(level,),
        unit=unit,
        element=element,
        by=by,
        statuses=ind.DEFAULT_STATUSES,
        form=ind.DEFAULT_FORM,
        ownership=(f.ownership,) if f.ownership else None,
        locality=(f.locality,) if f.locality else None,
    )
    return list(ind.aggregates(session, user, q).data["rows"])


# Figures other features compute uncached, kept here per version of the data (the version the
# indicators' own cache follows): a page, its downloads and the report ask for them many times.
_kept = LruCache(size=64)


def completeness_rows(
    session: Session, user: Principal, year: int, level: int, unit: str
) -> list[UnitCompleteness]:
    # Excuses and census windows move no figure, only the audit trail (every write is in it).
    version = (ind.data_version(session), last_event_id(session))
    key = ("completeness", user.unit_path, year, level, unit, version)
    return _kept.get_or_build(
        key,
        lambda: completeness(
            session, user, form=ind.DEFAULT_FORM, year=year, level=level, unit=unit
        ),
    )


def population(session: Session, year: int) -> dict[tuple[int, int, str], int]:
    """The year's population rows, (unit id, age, sex) -> people."""
    key = ("population", year, ind.data_version(session))
    return _kept.get_or_build(key, lambda: registry.population_by_unit(session, year))
