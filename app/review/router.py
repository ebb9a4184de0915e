"""Review endpoints: approve, send back, reopen, excuse, approve a unit, read the ladder."""

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.bounds import PathYear, QueryYear
from app.core.csvcell import safe_cell
from app.core.deps import SessionDep, UowDep
from app.core.media import JSON_BODY
from app.core.problem_docs import problem_responses
from app.core.text import PathCode
from app.registry.service import get_year
from app.returns.schemas import ReturnPublic
from app.review import completeness as completeness_service
from app.review import service
from app.review.permissions import CompletenessReader, LadderReader, Reopener, Reviewer
from app.review.schemas import (
    ApproveBody,
    CompletenessPage,
    ExcuseBody,
    LadderPublic,
    ReopenBody,
    SendBackBody,
    UnitApprovalPublic,
    UnitApproveBody,
)

router = APIRouter(prefix="/api/v1", tags=["review"])
RETURN = "/returns/{form}/{year}/{school}"
REVIEW_ERRORS = problem_responses(
    403,
    404,
    409,
    s403="The school lies outside your area, or your area's level is not a rung of the ladder.",
    s404="No such school, or it has no return of this form and year.",
    s409="The return does not await this step (invalid, sent back, approved already, or "
    "waiting for the rung below), or `revision` is not current.",
)


@router.get(
    "/review/ladder",
    response_model=LadderPublic,
    summary="The approval ladder: the admin levels that approve, first rung first",
)
def get_ladder(session: SessionDep, _user: LadderReader) -> LadderPublic:
    return LadderPublic(levels=service.ladder(session))


@router.post(
    RETURN + "/approve",
    response_model=ReturnPublic,
    dependencies=[JSON_BODY],
    summary="Approve a return at your rung of the ladder (reviewers)",
    responses=REVIEW_ERRORS,
)
def approve(
    form: PathCode, year: PathYear, school: PathCode, body: ApproveBody, user: Reviewer, uow: UowDep
) -> ReturnPublic:
    return service.approve_return(
        uow, user, form, year, school, revision=body.revision, comment=body.comment
    )


@router.post(
    RETURN + "/send-back",
    response_model=ReturnPublic,
    dependencies=[JSON_BODY],
    summary="Send a return back to its district with a comment (reviewers)",
    description="The return becomes `returned`; the clerk sees the comment on the next pull "
    "and sends a new revision, which starts the ladder again.",
    responses=REVIEW_ERRORS,
)
def send_back(
    form: PathCode,
    year: PathYear,
    school: PathCode,
    body: SendBackBody,
    user: Reviewer,
    uow: UowDep,
) -> ReturnPublic:
    return service.send_back(
        uow, user, form, year, school, revision=body.revision, comment=body.comment
    )


@router.post(
    RETURN + "/reopen",
    response_model=ReturnPublic,
    dependencies=[JSON_BODY],
    summary="Reopen an approved or locked return (administrators)",
    description="It becomes `returned` with the comment; its next revision climbs the ladder "
    "again.",
    responses=REVIEW_ERRORS,
)
def reopen(
    form: PathCode, year: PathYear, school: PathCode, body: ReopenBody, user: Reopener, uow: UowDep
) -> ReturnPublic:
    return service.reopen(uow, user, form, year, school, comment=body.comment)


@router.put(
    "/excuses/{form}/{year}/{school}",
    status_code=204,
    dependencies=[JSON_BODY],
    summary="Excuse a school from a form and year, with the reason (reviewers)",
    responses=problem_responses(
        403, 404, 409, s409="The school has a return for this form and year: review it."
    ),
)
def put_excuse(
    form: PathCode, year: PathYear, school: PathCode, body: ExcuseBody, user: Reviewer, uow: UowDep
) -> Response:
    service.excuse(uow, user, form, year, school, reason=body.reason)
    return Response(status_code=204)


@router.delete(
    "/excuses/{form}/{year}/{school}",
    status_code=204,
    summary="Withdraw an excuse (reviewers)",
    responses=problem_responses(403, 404),
)
def delete_excuse(
    form: PathCode, year: PathYear, school: PathCode, user: Reviewer, uow: UowDep
) -> Response:
    service.unexcuse(uow, user, form, year, school)
    return Response(status_code=204)


@router.post(
    "/units/{code}/approve",
    response_model=UnitApprovalPublic,
    dependencies=[JSON_BODY],
    summary="Approve every return of a unit at your rung, all or nothing (reviewers)",
    description="Refused (409, nothing changes) while any open school of the unit has an "
    "invalid, sent-back or not-yet-approved-below return, or neither a return nor an excuse; "
    "`errors` names each school (path) and why.",
    responses=problem_responses(
        403,
        404,
        409,
        s403="The unit lies outside your area, or your level is not a rung of the ladder.",
        s404="No such unit or school year.",
        s409="Some schools are not ready; `errors` lists them and nothing was approved.",
    ),
)
def approve_unit(
    code: PathCode,
    form: Annotated[str, Query(max_length=64, examples=["annual_school_census"])],
    year: QueryYear,
    body: UnitApproveBody,
    user: Reviewer,
    uow: UowDep,
) -> UnitApprovalPublic:
    done = service.approve_unit(uow, user, code, form, year, comment=body.comment)
    return UnitApprovalPublic(
        unit=done.unit,
        level=done.level,
        approved=done.approved,
        already=done.already,
        excused=done.excused,
    )


@router.get(
    "/completeness",
    response_model=CompletenessPage,
    summary="Completeness and timeliness per unit: expected, received, valid, approved, late",
    description=(completeness_service.__doc__ or "").split("\n\n", 1)[1],
    responses={
        **problem_responses(
            400,
            403,
            404,
            s403="`unit` lies outside your area.",
            s404="No such unit or school year.",
        ),
        200: {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "unit,unit_name,level,expected,received,...\r\n"
                    "DM-R01-D001,District 1,2,52,50,...\r\n",
                }
            }
        },
    },
)
def get_completeness(
    request: Request,
    session: SessionDep,
    user: CompletenessReader,
    year: QueryYear,
    form: Annotated[str, Query(max_length=64)] = "annual_school_census",
    level: Annotated[int, Query(ge=0, le=100, description="Admin level of the rows.")] = 1,
    unit: Annotated[
        str | None,
        Query(max_length=64, description="Only this unit and below (default: your area)."),
    ] = None,
    missing: Annotated[bool, Query(description="List the schools not reported.")] = False,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
) -> Response | CompletenessPage:
    rows = completeness_service.completeness(
        session, user, form=form, year=year, level=level, unit=unit
    )
    public = [r.public(with_missing=missing) for r in rows]
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        buf = io.StringIO()
        out = csv.writer(buf)
        head = ["unit", "unit_name", "level", *completeness_service.FIELDS]
        head += ["reporting_rate", "on_time_rate"] + (["missing"] if missing else [])
        out.writerow(head)
        for r in public:
            if missing:
                r["missing"] = " ".join(r["missing"])
            out.writerow([safe_cell(r[k]) if r[k] is not None else "" for k in head])
        return Response(
            buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="completeness-{form}-{year}.csv"'
            },
        )
    window = get_year(session, year)
    return CompletenessPage.model_validate(
        {"form": form, "year": year, "window_closes": window.window_closes, "rows": public}
    )
