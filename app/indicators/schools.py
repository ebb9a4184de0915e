"""Figures of each school of a unit: pupils, repeaters, teachers, classrooms and the ratios a
planner compares schools by (PTR, PCR, % repeaters), for one year and education level.

A school's figures come from its counted return (the revision its placement names) through the
same cell counting the kept totals use (`keep.cells_of`), so a school's pupils add up to its
district's figure to the pupil. Answers are cached like every figure (until data moves)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.errors import InvalidInput
from app.core.principal import Principal
from app.indicators import service
from app.indicators.keep import Placement, _count, _placements, _with_figures, structure_of
from app.indicators.models import IndicatorPlacement
from app.registry import service as registry


@dataclass(frozen=True)
class SchoolQuery:
    year: int
    unit: str | None
    education_level: str
    statuses: tuple[str, ...]
    form: str = service.DEFAULT_FORM


def school_figures(session: Session, user: Principal, q: SchoolQuery) -> service.Answer:
    """One row per school of the unit (the caller's area by default), by school code."""
    return service._answer(session, user, q, _school_figures)


def _ratio(num: float | None, den: float | None, percent: bool = False) -> float | None:
    if num is None or not den:
        return None
    return num / den * (100 if percent else 1)


def _school_figures(session: Session, user: Principal, q: SchoolQuery) -> dict[str, Any]:
    path = registry.area_path(session, user, q.unit)
    structure = structure_of(session)
    if all(lv.code != q.education_level for lv in structure.levels):
        raise InvalidInput(
            f"No education level has the code {q.education_level!r}.",
            [{"code": "UNKNOWN_LEVEL", "path": "query.education_level", "message": "?"}],
        )
    schools = registry.schools_under(session, path)
    ids = [s.id for s in schools]
    placements: dict[int, Placement] = {}
    for i in range(0, len(ids), 1000):
        found = _placements(
            session,
            col(IndicatorPlacement.school_id).in_(ids[i : i + 1000]),
            col(IndicatorPlacement.year) == q.year,
            col(IndicatorPlacement.form_code) == q.form,
            col(IndicatorPlacement.status).in_(q.statuses),
        )
        placements.update({p.school_id: p for p in found.values()})
    # Kept with each placement; placements counted before they were kept (an old database
    # not yet rebuilt) are summed from their revisions once here.
    stale = [p for p in placements.values() if not p.figures]
    if stale:
        counted = _count(session, stale, structure)
        for fresh in _with_figures(stale, counted, structure):
            placements[fresh.school_id] = fresh
    rows = []
    for s in schools:
        if q.education_level not in s.levels and s.id not in placements:
            continue
        p = placements.get(s.id)
        row: dict[str, Any] = {
            "school": s.code,
            "school_name": s.name,
            "unit": s.unit_code,
            "unit_name": s.unit_name,
            "ownership": s.ownership,
            "locality": s.locality,
            "school_status": s.status,
            "return_status": p.status if p else None,
            "revision": p.revision if p else None,
            "education_level": q.education_level,
        }
        mine = (p.figures.get("levels") or {}).get(q.education_level) if p else None
        if p is None or mine is None:
            row.update(pupils=None, girls=None, repeaters=None, teachers=None, classrooms=None)
            row.update(PTR=None, PCR=None, PCT_REP=None)
            rows.append(row)
            continue
        pupils, girls, repeaters, teachers = mine
        rooms = p.figures.get("classrooms")
        row.update(
            pupils=pupils,
            girls=girls,
            repeaters=repeaters,
            teachers=teachers,
            classrooms=rooms,
            PTR=_ratio(pupils, teachers),
            PCR=_ratio(p.figures.get("pupils"), rooms),
            PCT_REP=_ratio(repeaters, pupils, percent=True),
        )
        rows.append(row)
    return {
        "year": q.year,
        "form": q.form,
        "education_level": q.education_level,
        "status": list(q.statuses),
        "rows": rows,
    }
