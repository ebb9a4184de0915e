"""Returns read endpoints (API.md): current return, history, paged list."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.bounds import YEAR_MAX, YEAR_MIN, PathYear
from app.core.deps import SessionDep
from app.core.lang import Lang
from app.core.paging import CursorQuery
from app.core.problem_docs import AREA_FILTERED_LIST, problem_responses
from app.returns import service
from app.returns.permissions import ReturnReader
from app.returns.schemas import HistoryPublic, ReturnPage, ReturnPublic

router = APIRouter(prefix="/api/v1/returns", tags=["returns"])
ONE_RETURN = problem_responses(
    403,
    404,
    s403="The school lies outside your area.",
    s404="No such school, or no return of this form and year for it.",
)


@router.get(
    "",
    response_model=ReturnPage,
    summary="Returns in your area, filtered and paged",
    responses=AREA_FILTERED_LIST,
)
def list_returns(
    session: SessionDep,
    user: ReturnReader,
    form: Annotated[str | None, Query(examples=["annual_school_census"])] = None,
    year: Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])] = None,
    unit: Annotated[str | None, Query(description="Only schools in this unit and below.")] = None,
    status: Annotated[
        str | None, Query(pattern="^(submitted|invalid|returned|approved|locked)$")
    ] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
) -> ReturnPage:
    return service.list_returns(session, user, form, year, unit, status, cursor, limit)


@router.get(
    "/{form}/{year}/{school}",
    response_model=ReturnPublic,
    summary="The current revision of a return",
    responses=ONE_RETURN,
)
def get_return(
    form: str, year: PathYear, school: str, session: SessionDep, user: ReturnReader, lang: Lang
) -> ReturnPublic:
    return service.get_return(session, user, form, year, school, lang)


@router.get(
    "/{form}/{year}/{school}/history",
    response_model=HistoryPublic,
    summary="Every revision (values, time, user, device, push id) and every status change",
    responses=ONE_RETURN,
)
def get_history(
    form: str, year: PathYear, school: str, session: SessionDep, user: ReturnReader, lang: Lang
) -> HistoryPublic:
    return service.get_history(session, user, form, year, school, lang)
