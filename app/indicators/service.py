"""Aggregates and indicators at any admin level, read from the kept totals (never from cells).

A query names the year, the admin level(s) to report at, the unit to stay within (the caller's
area by default), the statuses to count (everything stored except `invalid` by default), and
optional splits. The totals are summed per unit of the asked level in one grouped query over
the leaf units below it; population and coverage come from the registry. Answers are cached
per process until the change log or the reference data moves."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.cache import LruCache
from app.core.changelog import last_sequence
from app.core.db import database_of, table_of
from app.core.derived import reference_version
from app.core.encoding import encode
from app.core.errors import Forbidden, InvalidInput
from app.core.principal import Principal
from app.forms.models import FormVersion
from app.indicators import compute as c
from app.indicators.keep import Structure, kept_as_row, structure_of
from app.indicators.models import FlowTotal, IndicatorCells, IndicatorSplit, IndicatorTotal
from app.registry import service as registry
from app.registry.service import SchoolPlacement, UnitRow
from app.returns import service as returns

DEFAULT_FORM = "annual_school_census"
DEFAULT_STATUSES = ("submitted", "returned", "approved", "locked")
STATUSES = ("submitted", "invalid", "returned", "approved", "locked")
SPLITS = ("sex", "ownership", "locality", "grade")
CAVEAT = {
    "en": "Sub-national flow rates are biased by pupils who change schools across the area's "
    "boundary (UIS): read them with care.",
    "fr": "Les taux de flux infranationaux sont biaisés par les élèves qui changent d'école en "
    "franchissant les limites de la zone (ISU) : à lire avec prudence.",
}
_ONE_YEAR_ELEMENTS = (
    "~E", "~NER", "~ANER", "repeaters", "new_entrants", "teachers", "classrooms", "_return",
    "_offers", *c.FACILITIES.values(),
)  # fmt: skip
_FLOW_ELEMENTS = ("0:~E", "0:repeaters", "1:~E", "1:repeaters", "1:graduates", "1:_offers", "_pair")


@dataclass(frozen=True)
class Scope:
    """Where to report: the groups (units of the asked levels) and which leaf feeds which."""

    unit: UnitRow
    groups: list[UnitRow]
    group_of: dict[int, list[int]]  # unit id -> ids of the groups it lies in
    subtree: list[int] | None  # unit ids of the scope unit's subtree (None: every unit)


def _ids(path: str) -> list[int]:
    return [int(i) for i in path.strip("/").split("/") if i]


def scope(session: Session, user: Principal, unit: str | None, levels: Sequence[int]) -> Scope:
    units = registry.all_units(session)
    by_code = {u.code: u for u in units}
    if unit is None:
        top = next((u for u in units if u.path == user.unit_path), None)
        if top is None:
            raise Forbidden("Your account's area no longer exists.")
    else:
        found = by_code.get(unit)
        if found is None:
            raise InvalidInput(
                f"No admin unit has the code {unit!r}.",
                [{"code": "UNKNOWN_UNIT", "path": "query.unit", "message": unit}],
            )
        if not user.covers(found.path):
            raise Forbidden(f"Unit {unit!r} lies outside your area ({user.unit_code}).")
        top = found
    for lv in levels:
        if lv < top.level and unit is None:
            raise Forbidden(
                f"Figures at level {lv} lie outside your area ({user.unit_code}, level "
                f"{top.level}); ask for level {top.level} or below."
            )
        if lv < top.level:
            raise InvalidInput(
                f"Level {lv} lies above {top.code} (level {top.level}): ask for level "
                f"{top.level} or below, or for a unit higher up.",
                [{"code": "LEVEL_ABOVE_UNIT", "path": "query.level", "message": str(lv)}],
            )
    inside = [u for u in units if u.path.startswith(top.path)]
    by_id = {u.id: u for u in inside}
    wanted = set(levels)
    groups = [u for u in inside if u.level in wanted]
    group_of: dict[int, list[int]] = {}
    for u in inside:
        group_of[u.id] = [i for i in _ids(u.path) if i in by_id and by_id[i].level in wanted]
    whole = len(inside) == len(units)
    return Scope(top, groups, group_of, None if whole else [u.id for u in inside])


def _sums(
    session: Session,
    table: Any,
    year: int,
    form: str,
    elements: Iterable[str],
    statuses: Sequence[str],
    sc: Scope,
    splits: Sequence[str],
    ownership: Sequence[str] | None,
    locality: Sequence[str] | None,
) -> dict[tuple[int, tuple[str, ...]], tuple[dict[str, int], dict[str, int]]]:
    """(group id, split values) -> (sums by key, schools by key)."""
    t, sp = table.__table__, table_of(IndicatorSplit)
    split_cols = [sp.c[s] for s in splits]
    # One group (a unit's own figures): the database sums over its subtree, one row per key,
    # instead of a row per leaf unit for Python to add up (a nation has hundreds of leaves).
    # A subtree of more than 2,000 units is not named in the SQL: the groups filter the rows.
    named = sc.subtree is not None and len(sc.subtree) <= 2000
    alone = len(sc.groups) == 1 and (sc.subtree is None or named)
    by = literal(sc.groups[0].id) if alone else sp.c.unit_id
    q = (
        select(by, t.c.key, *split_cols, func.sum(t.c.value), func.sum(t.c.schools))
        .join_from(sp, t, t.c.split_id == sp.c.id)
        .where(
            sp.c.year == year,
            sp.c.form_code == form,
            sp.c.status.in_(sorted(statuses)),
            t.c.element.in_(sorted(set(elements))),
        )
        .group_by(*([] if alone else [sp.c.unit_id]), t.c.key, *split_cols)
    )
    if ownership:
        q = q.where(sp.c.ownership.in_(ownership))
    if locality:
        q = q.where(sp.c.locality.in_(locality))
    if named:
        q = q.where(sp.c.unit_id.in_(sc.subtree or ()))
    out: dict[tuple[int, tuple[str, ...]], tuple[dict[str, int], dict[str, int]]] = {}
    group_of = sc.group_of
    for row in session.execute(q):
        unit_id, key = row[0], row[1]
        split = tuple(row[2 : 2 + len(splits)])
        value, schools = int(row[-2]), int(row[-1])
        for g in group_of.get(unit_id, ()):
            entry = out.get((g, split))
            if entry is None:
                entry = out[(g, split)] = ({}, {})
            entry[0][key] = entry[0].get(key, 0) + value
            entry[1][key] = entry[1].get(key, 0) + schools
    return out


def _doc_sums(
    session: Session,
    year: int,
    form: str,
    element: str,
    statuses: Sequence[str],
    sc: Scope,
    splits: Sequence[str],
    ownership: Sequence[str] | None,
    locality: Sequence[str] | None,
) -> dict[tuple[int, tuple[str, ...]], tuple[dict[str, int], dict[str, int]]]:
    """As `_sums`, for an element kept in the cell documents."""
    t = table_of(IndicatorCells)
    q = select(t.c.unit_id, t.c.ownership, t.c.locality, t.c.cells).where(
        t.c.year == year, t.c.form_code == form, t.c.status.in_(sorted(statuses))
    )
    if ownership:
        q = q.where(t.c.ownership.in_(ownership))
    if locality:
        q = q.where(t.c.locality.in_(locality))
    if sc.subtree is not None and len(sc.subtree) <= 2000:
        q = q.where(t.c.unit_id.in_(sc.subtree))
    prefix = element + "|"
    out: dict[tuple[int, tuple[str, ...]], tuple[dict[str, int], dict[str, int]]] = {}
    for unit_id, own, loc, cells in session.execute(q):
        split = tuple({"ownership": own, "locality": loc}[s] for s in splits)
        picked = [(k, vn) for k, vn in cells.items() if k == element or k.startswith(prefix)]
        for g in sc.group_of.get(unit_id, ()):
            entry = out.get((g, split))
            if entry is None:
                entry = out[(g, split)] = ({}, {})
            for k, (v, n) in picked:
                entry[0][k] = entry[0].get(k, 0) + v
                entry[1][k] = entry[1].get(k, 0) + n
    return out


def _population(session: Session, year: int, sc: Scope) -> dict[int, dict[tuple[int, str], int]]:
    """Population by group: the sum of the rows of the units in its subtree."""
    out: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    for (uid, age, sex), value in registry.population_by_unit(session, year).items():
        for g in sc.group_of.get(uid, ()):
            d = out[g]
            d[(age, sex)] = d.get((age, sex), 0) + value
    return out


def _expected(
    schools: Iterable[SchoolPlacement],
    sc: Scope,
    splits: Sequence[str],
    ownership: Sequence[str] | None,
    locality: Sequence[str] | None,
) -> dict[tuple[int, tuple[str, ...]], dict[str, int]]:
    """Open schools by group and split: all of them (`_return`) and per level offered."""
    out: dict[tuple[int, tuple[str, ...]], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in schools:
        if not s.open or (ownership and s.ownership not in ownership):
            continue
        if locality and s.locality not in locality:
            continue
        split = tuple(getattr(s, name) for name in splits)
        for g in sc.group_of.get(s.unit_id, ()):
            d = out[(g, split)]
            d["_return"] += 1
            for lv in s.levels:
                d[f"_offers|{lv}"] += 1
    return out


@dataclass(frozen=True)
class IndicatorQuery:
    year: int
    levels: tuple[int, ...]
    unit: str | None
    indicators: tuple[str, ...]
    education_levels: tuple[str, ...] | None
    by: tuple[str, ...]
    statuses: tuple[str, ...]
    form: str
    cap: int | None
    ownership: tuple[str, ...] | None
    locality: tuple[str, ...] | None
    lang: str


def parse_codes(text: str | None) -> tuple[str, ...]:
    """Indicator codes asked for; GPI_X / GPIA_X of any sex-splittable X."""
    if not text:
        return c.ONE_YEAR_CODES
    codes = tuple(dict.fromkeys(p.strip().upper() for p in text.split(",") if p.strip()))
    bad = []
    for code in codes:
        base = code.split("_", 1)[1] if code.startswith(("GPI_", "GPIA_")) else code
        if code.startswith(("GPI_", "GPIA_")):
            if base not in c.BY_SEX:
                bad.append(code)
        elif code not in c.BASE_CODES:
            bad.append(code)
    if bad:
        raise InvalidInput(
            f"Unknown indicator code(s): {', '.join(bad)}. GET /api/v1/indicators/definitions "
            "lists them.",
            [{"code": "UNKNOWN_INDICATOR", "path": "query.indicator", "message": b} for b in bad],
        )
    return codes


class Answer:
    """One answer, with its JSON body and each compressed body made once (a national table of a
    large country is megabytes: a cached answer is sent as the bytes it was the first time)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._json: bytes | None = None
        self._encoded: dict[str, bytes] = {}

    def json(self) -> bytes:
        if self._json is None:
            self._json = orjson.dumps(self.data)
        return self._json

    def encoded(self, coding: str) -> bytes:
        """The JSON body in `coding` (zstd or gzip; see app.core.encoding)."""
        body = self._encoded.get(coding)
        if body is None:  # two threads may both make it: the same bytes, one kept
            body = self._encoded[coding] = encode(self.json(), coding)
        return body


# EMIS_FIGURES_CACHE=0 sums the kept totals on every request (benchmarks measure both).
_cache = LruCache()
_schools = LruCache(size=4)


def _all_schools(session: Session) -> list[SchoolPlacement]:
    """Every school's place, read once per version of the data (a school's change moves the
    change log): coverage needs them all, and the many queries of one page or report would
    each read them again."""
    return _schools.get_or_build(
        data_version(session), lambda: registry.all_school_placements(session)
    )


def data_version(session: Session) -> tuple[str, int, int, str]:
    """Moves whenever a return (revision or status), a school, a unit, the population or the
    structure changes; names the database, so one process's caches never mix two."""
    return (
        database_of(session),
        last_sequence(session),
        returns.last_status_change(session),
        reference_version(session),
    )


def _answer(
    session: Session, user: Principal, q: Any, compute: Callable[..., dict[str, Any]]
) -> Answer:
    """The cached answer to this query in the caller's area, or a fresh one."""
    key = (compute.__name__, q, user.unit_path, data_version(session))
    return _cache.get_or_build(key, lambda: Answer(compute(session, user, q)))


def indicators(session: Session, user: Principal, q: IndicatorQuery) -> Answer:
    return _answer(session, user, q, _indicators)


def _indicators(session: Session, user: Principal, q: IndicatorQuery) -> dict[str, Any]:
    sc = scope(session, user, q.unit, q.levels)
    structure = structure_of(session)
    levels = [
        lv for lv in structure.levels if q.education_levels is None or lv.code in q.education_levels
    ]
    attr_splits = tuple(s for s in ("ownership", "locality") if s in q.by)
    wanted = set(q.indicators)
    base_wanted = {w.split("_", 1)[1] if w.startswith(("GPI_", "GPIA_")) else w for w in wanted}
    flow = bool(base_wanted & {*c.FLOW_CODES, *c.COHORT_CODES})
    one = bool(base_wanted & set(c.ONE_YEAR_CODES))
    sums = (
        _sums(
            session,
            IndicatorTotal,
            q.year,
            q.form,
            _ONE_YEAR_ELEMENTS,
            q.statuses,
            sc,
            attr_splits,
            q.ownership,
            q.locality,
        )
        if one
        else {}
    )
    pairs = (
        _sums(
            session,
            FlowTotal,
            q.year,
            q.form,
            _FLOW_ELEMENTS,
            q.statuses,
            sc,
            attr_splits,
            q.ownership,
            q.locality,
        )
        if flow
        else {}
    )
    pop = _population(session, q.year, sc) if base_wanted & set(c.LEVEL_CODES) else {}
    expected = _expected(_all_schools(session), sc, attr_splits, q.ownership, q.locality)
    splits = sorted({k[1] for k in expected} | {k[1] for k in sums} | {k[1] for k in pairs}) or [()]
    rows: list[dict[str, Any]] = []
    for g in sc.groups:
        for split in splits:
            empty: tuple[dict[str, int], dict[str, int]] = ({}, {})
            t = c.Sums(*sums.get((g.id, split), empty))
            p = c.Sums(*pairs.get((g.id, split), empty))
            figures = _figures(t, p, pop.get(g.id, {}), structure, levels, q, base_wanted)
            exp = expected.get((g.id, split), {})
            split_d: dict[str, str] = dict(zip(attr_splits, split, strict=True))
            for f in figures:
                if f.indicator not in wanted:
                    continue
                rows.append(_row(g, f, exp, t, p, split_d, q))
    return {"year": q.year, "form": q.form, "status": list(q.statuses), "rows": rows}


def _figures(
    t: c.Sums,
    p: c.Sums,
    pop: dict[tuple[int, str], int],
    structure: Structure,
    levels: Sequence[Any],
    q: IndicatorQuery,
    base_wanted: set[str],
) -> list[c.Figure]:
    by_sex = "sex" in q.by
    grade_rows = "grade" in q.by
    out: list[c.Figure] = []
    parity_codes = [w for w in q.indicators if w.startswith(("GPI_", "GPIA_"))]
    sex_sets: list[tuple[str, ...]] = [c.SEXES]
    if by_sex or parity_codes:
        sex_sets += [("F",), ("M",)]
    per_sex: dict[tuple[str, ...], list[c.Figure]] = {}
    # One sex alone is needed for the figures split by sex and the bases of the parities.
    one_sex = (base_wanted if by_sex else set()) | {w.split("_", 1)[1] for w in parity_codes}
    for sexes in sex_sets:
        figs: list[c.Figure] = []
        need = base_wanted if sexes == c.SEXES else one_sex
        for lv in levels:
            if need & set(c.LEVEL_CODES):
                figs += c.level_figures(t, pop, structure, lv, sexes, grade_rows)
            if need & set(c.TEACHER_CODES):
                figs += c.teacher_figures(t, lv, sexes, with_ratios=sexes == c.SEXES)
            if need & {*c.FLOW_CODES, *c.COHORT_CODES}:
                figs += c.flow_figures(
                    p, structure, lv, sexes, q.cap, cohort=bool(need & set(c.COHORT_CODES))
                )
        if sexes == c.SEXES and need & set(c.SCHOOL_CODES):
            figs += c.school_figures(t, structure)
        if len(sexes) == 1:
            for f in figs:
                f.disaggregation = {**f.disaggregation, "sex": sexes[0]}
        per_sex[sexes] = figs
    if by_sex:
        # Split figures by sex; those that cannot be split (pupils per teacher, classroom,
        # facilities) once for both sexes.
        out += [f for f in per_sex[c.SEXES] if f.indicator not in c.BY_SEX]
        out += per_sex[("F",)] + per_sex[("M",)]
    else:
        out += per_sex[c.SEXES]
    if parity_codes:

        def index(figs: list[c.Figure]) -> dict[tuple[Any, ...], c.Figure]:
            return {
                (
                    f.indicator,
                    f.education_level,
                    tuple(sorted((k, v) for k, v in f.disaggregation.items() if k != "sex")),
                ): f
                for f in figs
            }

        fem, mal = index(per_sex[("F",)]), index(per_sex[("M",)])
        for code in parity_codes:
            adjusted = code.startswith("GPIA_")
            base = code.split("_", 1)[1]
            for k, f in fem.items():
                if k[0] == base:
                    out.append(c.parity(f, mal.get(k), base, adjusted))
    return out


def _num(v: float | None) -> float | int | None:
    if v is None:
        return None
    return int(v) if float(v).is_integer() else round(v, 6)


def _row(
    g: UnitRow,
    f: c.Figure,
    expected: dict[str, int],
    t: c.Sums,
    p: c.Sums,
    split: dict[str, str],
    q: IndicatorQuery,
) -> dict[str, Any]:
    source = p if f.reported_key.startswith(("1:", "_pair")) else t
    base = (
        f.indicator.split("_", 1)[1] if f.indicator.startswith(("GPI_", "GPIA_")) else f.indicator
    )
    reported_key = f.reported_key
    row: dict[str, Any] = {
        "unit": g.code,
        "unit_name": g.name,
        "level": g.level,
        "indicator": f.indicator,
        "education_level": f.education_level,
        "disaggregation": {**split, **f.disaggregation},
        "value": f.value,
        "numerator": _num(f.numerator),
        "denominator": _num(f.denominator),
        "coverage": {
            "schools_expected": expected.get(reported_key.removeprefix("1:"), 0),
            "schools_reported": source.schools(reported_key),
        },
    }
    if base in c.FLOW_CODES or base in c.COHORT_CODES:
        row["year"] = q.year
        row["base_year"] = q.year
        row["outcome_year"] = q.year + 1
        row["coverage"]["basis"] = "schools that reported in both years"
        if g.level > 0:
            row["caveat"] = CAVEAT.get(q.lang, CAVEAT["en"])
    if f.extra:
        row["details"] = {k: v for k, v in f.extra.items() if k != "method"}
        if "method" in f.extra:
            row["method"] = f.extra["method"]
    return row


# ---------------------------------------------------------------- aggregates


@dataclass(frozen=True)
class AggregateQuery:
    year: int
    levels: tuple[int, ...]
    unit: str | None
    element: str
    by: tuple[str, ...]
    statuses: tuple[str, ...]
    form: str
    ownership: tuple[str, ...] | None
    locality: tuple[str, ...] | None


def element_dimensions(session: Session, form: str, element: str) -> dict[int, list[str]]:
    """The element's dimensions in each loaded version of the form, by their count (a key's
    arity tells which version's layout it has)."""
    out: dict[int, list[str]] = {}
    rows = session.execute(
        select(col(FormVersion.version), col(FormVersion.definition))
        .where(col(FormVersion.code) == form)
        .order_by(col(FormVersion.version))
    ).all()
    if not rows:
        raise InvalidInput(
            f"No form {form!r} is loaded.",
            [{"code": "UNKNOWN_FORM", "path": "query.form", "message": form}],
        )
    for _, definition in rows:
        for e in definition.get("elements", []):
            if e["code"] == element and e["type"] in ("count", "boolean"):
                out[len(e.get("dimensions") or [])] = list(e.get("dimensions") or [])
    if not out:
        raise InvalidInput(
            f"Form {form!r} has no count or yes/no element {element!r}.",
            [{"code": "UNKNOWN_ELEMENT", "path": "query.element", "message": element}],
        )
    return out


def aggregates(session: Session, user: Principal, q: AggregateQuery) -> Answer:
    return _answer(session, user, q, _aggregates)


def _aggregates(session: Session, user: Principal, q: AggregateQuery) -> dict[str, Any]:
    dims = element_dimensions(session, q.form, q.element)
    known = {d for ds in dims.values() for d in ds}
    bad = [b for b in q.by if b not in known and b not in ("ownership", "locality")]
    if bad:
        raise InvalidInput(
            f"{q.element} cannot be split by {', '.join(bad)}; it has "
            f"{', '.join(sorted(known)) or 'no dimensions'} (and ownership, locality).",
            [{"code": "UNKNOWN_DIMENSION", "path": "query.by", "message": b} for b in bad],
        )
    sc = scope(session, user, q.unit, q.levels)
    attr = tuple(s for s in ("ownership", "locality") if s in q.by)
    elements = [q.element, "_return"] if kept_as_row(q.element) else ["_return"]
    sums = _sums(
        session,
        IndicatorTotal,
        q.year,
        q.form,
        elements,
        q.statuses,
        sc,
        attr,
        q.ownership,
        q.locality,
    )
    if not kept_as_row(q.element):
        docs = _doc_sums(
            session, q.year, q.form, q.element, q.statuses, sc, attr, q.ownership, q.locality
        )
        for where, (doc_values, doc_schools) in docs.items():
            entry = sums.setdefault(where, ({}, {}))
            entry[0].update(doc_values)
            entry[1].update(doc_schools)
    expected = _expected(_all_schools(session), sc, attr, q.ownership, q.locality)
    cell_dims = [b for b in q.by if b not in ("ownership", "locality")]
    rows: list[dict[str, Any]] = []
    for g in sc.groups:
        for (gid, split), (values, schools) in sorted(sums.items(), key=lambda kv: kv[0][1]):
            if gid != g.id:
                continue
            acc: dict[tuple[str, ...], int] = defaultdict(int)
            reporting: dict[tuple[str, ...], int] = defaultdict(int)
            for k, v in values.items():
                parts = k.split("|")
                if parts[0] != q.element:
                    continue
                names = dims.get(len(parts) - 1)
                if names is None:
                    continue
                cell = dict(zip(names, parts[1:], strict=True))
                if any(d not in cell for d in cell_dims):
                    continue  # an older version without this dimension
                combo = tuple(cell[d] for d in cell_dims)
                acc[combo] += v
                reporting[combo] = max(reporting[combo], schools.get(k, 0))
            split_d = dict(zip(attr, split, strict=True))
            for combo in sorted(acc):
                rows.append(
                    {
                        "unit": g.code,
                        "unit_name": g.name,
                        "level": g.level,
                        "element": q.element,
                        "disaggregation": {**split_d, **dict(zip(cell_dims, combo, strict=True))},
                        "value": acc[combo],
                        "coverage": {
                            "schools_expected": expected.get((g.id, split), {}).get("_return", 0),
                            "schools_reported": schools.get("_return", 0),
                        },
                    }
                )
    return {"year": q.year, "form": q.form, "status": list(q.statuses), "rows": rows}
