"""Aggregates and indicators (API.md), as JSON or CSV, and the definitions a planner reads."""

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.core.bounds import YEAR_MAX, YEAR_MIN
from app.core.csvcell import safe_cell
from app.core.deps import PUBLIC, SessionDep
from app.core.encoding import accepted
from app.core.errors import InvalidInput
from app.core.lang import Lang
from app.core.problem_docs import problem_responses
from app.indicators import service
from app.indicators.definitions import definitions, localized
from app.indicators.permissions import FigureReader
from app.indicators.schemas import AggregatePage, DefinitionList, IndicatorPage

router = APIRouter(prefix="/api/v1", tags=["indicators"])
RESPONSES = problem_responses(
    403,
    s403="The unit lies outside your area.",
)
CSV_DOC = {"text/csv": {"schema": {"type": "string"}, "example": "unit,unit_name,level,...\r\n"}}


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(sorted({int(p) for p in _list(text)}))
    except ValueError:
        levels = ()
    if not levels or any(lv < 0 or lv > 20 for lv in levels):
        raise InvalidInput(
            "level is an admin level (0 = national, 1 = region, …) or a comma list of them.",
            [{"code": "BAD_LEVEL", "path": "query.level", "message": text[:50]}],
        )
    return levels


def _statuses(text: str | None) -> tuple[str, ...]:
    if not text:
        return service.DEFAULT_STATUSES
    asked = _list(text)
    if "approved" in asked and "locked" not in asked:
        asked = (*asked, "locked")  # locked returns are approved ones, published
    bad = [s for s in asked if s not in service.STATUSES]
    if bad:
        raise InvalidInput(
            f"Unknown status(es): {', '.join(bad)}; use {', '.join(service.STATUSES)}.",
            [{"code": "UNKNOWN_STATUS", "path": "query.status", "message": b} for b in bad],
        )
    return tuple(sorted(set(asked)))


def _by(text: str | None, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    by = _list(text)
    if allowed is not None:
        bad = [b for b in by if b not in allowed]
        if bad:
            raise InvalidInput(
                f"Cannot split by {', '.join(bad)}; use {', '.join(allowed)}.",
                [{"code": "UNKNOWN_SPLIT", "path": "query.by", "message": b} for b in bad],
            )
    return by


def _wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        if fmt not in ("json", "csv"):
            raise InvalidInput(
                "format is json or csv.",
                [{"code": "BAD_FORMAT", "path": "query.format", "message": fmt[:20]}],
            )
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


def _csv(rows: list[dict[str, Any]], first: list[str], filename: str) -> Response:
    dims = sorted({k for r in rows for k in r.get("disaggregation", {})})
    tail = ["value", "numerator", "denominator", "schools_expected", "schools_reported"]
    extra = ["base_year", "outcome_year", "caveat"]
    fields = (
        first
        + dims
        + [
            f
            for f in tail
            if any(f in r or f in r.get("coverage", {}) for r in rows)
            or f in ("value", "schools_expected", "schools_reported")
        ]
    )
    fields += [f for f in extra if any(f in r for r in rows)]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(fields)
    for r in rows:
        flat = {**r, **r.get("disaggregation", {}), **r.get("coverage", {})}
        w.writerow([safe_cell(flat.get(f, "")) if flat.get(f) is not None else "" for f in fields])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _json(request: Request, answer: service.Answer) -> Response:
    """The answer in the best coding the client accepts (zstd, then gzip), else as it is."""
    coding = accepted(request.headers.get("accept-encoding"))
    if coding is None:
        return Response(
            answer.json(), media_type="application/json", headers={"Vary": "Accept-Encoding"}
        )
    return Response(
        answer.encoded(coding),
        media_type="application/json",
        headers={"Content-Encoding": coding, "Vary": "Accept-Encoding"},
    )


@router.get(
    "/indicators",
    response_model=IndicatorPage,
    summary="UIS indicators at any admin level, with numerator, denominator and coverage",
    description=(
        "Every row carries its value, numerator, denominator and coverage (schools expected: "
        "open schools of the unit offering the level; schools reported: those whose return is "
        "counted). The value is null where the denominator is missing or zero, or where no "
        "school gave the data — never 0 for 'no data'. Flow rows (PR, RR, DR, EPR, ETR) and the "
        "reconstructed cohort (SR by grade, SR_LAST, CE, YIG) belong to base year `year` = t and "
        "use t+1 for the outcome; both are named on the row; they are computed only over "
        "schools that reported in both years. Formulas: `GET /api/v1/indicators/definitions`.\n\n"
        + "\n".join(f"- `{d.code}`: {d.formula['en']}" for d in definitions())
    ),
    responses={**RESPONSES, 200: {"content": CSV_DOC}},
)
def get_indicators(
    request: Request,
    session: SessionDep,
    user: FigureReader,
    lang: Lang,
    year: Annotated[
        int,
        Query(
            ge=YEAR_MIN,
            le=YEAR_MAX,
            examples=[2025],
            description="School year (base year t for flow figures).",
        ),
    ],
    level: Annotated[
        str,
        Query(
            max_length=40,
            description="Admin level(s) to report at (0 = national), comma-separated.",
            examples=["0,2"],
        ),
    ] = "0",
    unit: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only this unit and what lies below it (default: your area).",
            examples=["DM-R01"],
        ),
    ] = None,
    indicator: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Codes, comma-separated (default: every one-year indicator). GPI_X / GPIA_X for parity.",
            examples=["GER,NER,GPI_GER,PTR"],
        ),
    ] = None,
    education_level: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Education level code(s) (default: all).",
            examples=["primary"],
        ),
    ] = None,
    by: Annotated[
        str | None,
        Query(
            max_length=100, description="Splits: sex, ownership, locality, grade.", examples=["sex"]
        ),
    ] = None,
    status: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Return statuses counted (default: everything stored except invalid; `approved` for published figures).",
            examples=["approved"],
        ),
    ] = None,
    ownership: Annotated[
        str | None, Query(max_length=200, description="Only schools of these ownerships.")
    ] = None,
    locality: Annotated[
        str | None, Query(max_length=100, description="Only schools of these localities.")
    ] = None,
    cap: Annotated[
        int | None,
        Query(
            ge=0,
            le=10,
            description="Reconstructed cohort: at most this many repetitions per pupil (none by default).",
        ),
    ] = None,
    form: Annotated[str, Query(max_length=64)] = service.DEFAULT_FORM,
    format: Annotated[
        str | None, Query(description="json (default) or csv; or send Accept: text/csv.")
    ] = None,
) -> Any:
    q = service.IndicatorQuery(
        year=year,
        levels=_levels(level),
        unit=unit,
        indicators=service.parse_codes(indicator),
        education_levels=_list(education_level) or None,
        by=_by(by, service.SPLITS),
        statuses=_statuses(status),
        form=form,
        cap=cap,
        ownership=_list(ownership) or None,
        locality=_list(locality) or None,
        lang=lang,
    )
    answer = service.indicators(session, user, q)
    if _wants_csv(request, format):
        return _csv(
            answer.data["rows"],
            ["unit", "unit_name", "level", "indicator", "education_level"],
            f"indicators-{year}.csv",
        )
    return _json(request, answer)


@router.get(
    "/indicators/definitions",
    response_model=DefinitionList,
    dependencies=[PUBLIC],
    summary="Every indicator: name, formula, the data it needs, how to read it (EN/FR)",
)
def get_definitions(lang: Lang) -> Any:
    return {"definitions": [localized(d, lang) for d in definitions()], "language": lang}


@router.get(
    "/aggregates",
    response_model=AggregatePage,
    summary="Sums of cells over schools at any admin level, split by the form's dimensions",
    description=(
        "Sums of one element's cells over the schools of each unit, from the current revision "
        "of each return counted (statuses: everything stored except invalid by default), split "
        "by any of the element's dimensions and by ownership and locality. Coverage: open "
        "schools of the unit, and schools whose return is counted."
    ),
    responses={**RESPONSES, 200: {"content": CSV_DOC}},
)
def get_aggregates(
    request: Request,
    session: SessionDep,
    user: FigureReader,
    year: Annotated[int, Query(ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])],
    element: Annotated[str, Query(max_length=64, examples=["enrolment"])],
    level: Annotated[str, Query(max_length=40, examples=["1"])] = "0",
    unit: Annotated[str | None, Query(max_length=64)] = None,
    by: Annotated[str | None, Query(max_length=100, examples=["grade,sex"])] = None,
    status: Annotated[str | None, Query(max_length=100)] = None,
    ownership: Annotated[str | None, Query(max_length=200)] = None,
    locality: Annotated[str | None, Query(max_length=100)] = None,
    form: Annotated[str, Query(max_length=64)] = service.DEFAULT_FORM,
    format: Annotated[str | None, Query()] = None,
) -> Any:
    q = service.AggregateQuery(
        year=year,
        levels=_levels(level),
        unit=unit,
        element=element,
        by=_by(by, None),
        statuses=_statuses(status),
        form=form,
        ownership=_list(ownership) or None,
        locality=_list(locality) or None,
    )
    answer = service.aggregates(session, user, q)
    if _wants_csv(request, format):
        return _csv(
            answer.data["rows"], ["unit", "unit_name", "level", "element"], f"aggregates-{year}.csv"
        )
    return _json(request, answer)
