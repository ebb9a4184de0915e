"""Registry endpoints: reads for every signed-in user, writes for administrators.

Admin units, school years and the education structure are reference data (pick lists) that every
signed-in user may read; schools and population are limited to the caller's area (403 outside)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.bounds import PathYear, QueryYear
from app.core.deps import SessionDep, WriteSessionDep
from app.core.media import JSON_BODY
from app.core.paging import CursorQuery
from app.core.problem_docs import AREA_FILTERED_LIST, problem_responses
from app.core.text import LevelPathCode, PathCode
from app.registry import service
from app.registry.permissions import ReferenceReader, RegistryManager, SchoolReader
from app.registry.schemas import (
    AdminUnitPublic,
    AdminUnitUpsert,
    EducationLevelPublic,
    EducationLevelUpsert,
    Page,
    PopulationCounts,
    PopulationPublic,
    PopulationUpsert,
    SchoolPublic,
    SchoolUpsert,
    SchoolYearPublic,
    SchoolYearUpsert,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Cursor = CursorQuery
ADMINS_ONLY = problem_responses(403, s403="Only administrators may change reference data.")


@router.get(
    "/admin-units",
    response_model=Page[AdminUnitPublic],
    summary="List admin units (reference data: every signed-in user may read the whole tree)",
    responses=problem_responses(400, 404, s404="No admin unit has the code given as `under`."),
)
def list_admin_units(
    session: SessionDep,
    _user: ReferenceReader,
    under: Annotated[
        str | None,
        Query(description="Only this unit and everything below it.", examples=["DM-R01"]),
    ] = None,
    level: Annotated[
        int | None, Query(ge=0, le=100, description="Only units at this level.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[AdminUnitPublic]:
    items, nxt = service.list_units(session, under, level, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get(
    "/admin-units/{code}",
    response_model=AdminUnitPublic,
    summary="One admin unit (reference data, readable by every signed-in user)",
    responses=problem_responses(404, s404="No admin unit has this code."),
)
def get_admin_unit(code: str, session: SessionDep, _user: ReferenceReader) -> AdminUnitPublic:
    return service.get_unit(session, code)


@router.put(
    "/admin-units/{code}",
    response_model=AdminUnitPublic,
    summary="Create or update an admin unit (administrators)",
    responses=ADMINS_ONLY,
    dependencies=[JSON_BODY],
)
def put_admin_unit(
    code: PathCode, body: AdminUnitUpsert, _admin: RegistryManager, session: WriteSessionDep
) -> AdminUnitPublic:
    service.upsert_units(session, [{"code": code, **body.model_dump()}])
    return service.get_unit(session, code)


@router.get(
    "/schools",
    response_model=Page[SchoolPublic],
    summary="List schools in your area",
    responses=AREA_FILTERED_LIST,
)
def list_schools(
    session: SessionDep,
    user: SchoolReader,
    unit: Annotated[str | None, Query(description="Only schools in this unit and below.")] = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[SchoolPublic]:
    items, nxt = service.list_schools(session, user, unit, status, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get(
    "/schools/{code}",
    response_model=SchoolPublic,
    summary="One school",
    responses=problem_responses(
        403, 404, s403="The school lies outside your area.", s404="No school has this code."
    ),
)
def get_school(code: str, session: SessionDep, user: SchoolReader) -> SchoolPublic:
    return service.get_school(session, user, code)


@router.put(
    "/schools/{code}",
    response_model=SchoolPublic,
    summary="Create or update a school (administrators)",
    responses=ADMINS_ONLY,
    dependencies=[JSON_BODY],
)
def put_school(
    code: PathCode, body: SchoolUpsert, admin: RegistryManager, session: WriteSessionDep
) -> SchoolPublic:
    service.require_unit(session, body.unit)
    service.require_levels(session, body.levels)
    service.upsert_schools(session, [{"code": code, **body.model_dump(mode="json")}])
    return service.get_school(session, admin, code)


@router.delete(
    "/schools/{code}",
    status_code=204,
    summary="Delete a school without returns (administrators)",
    responses={
        **ADMINS_ONLY,
        **problem_responses(
            404,
            409,
            s404="No school has this code.",
            s409="The school has returns; set its status to closed instead.",
        ),
    },
)
def delete_school(code: PathCode, _admin: RegistryManager, session: WriteSessionDep) -> Response:
    service.delete_school(session, code)
    return Response(status_code=204)


@router.get(
    "/school-years",
    response_model=list[SchoolYearPublic],
    summary="School years and census windows",
)
def list_school_years(session: SessionDep, _user: ReferenceReader) -> list[SchoolYearPublic]:
    return service.list_years(session)


@router.get(
    "/school-years/{year}",
    response_model=SchoolYearPublic,
    summary="One school year",
    responses=problem_responses(404, s404="No such school year."),
)
def get_school_year(
    year: PathYear, session: SessionDep, _user: ReferenceReader
) -> SchoolYearPublic:
    return service.get_year(session, year)


@router.put(
    "/school-years/{year}",
    response_model=SchoolYearPublic,
    summary="Create or update a school year, open or reopen its window (administrators)",
    responses=ADMINS_ONLY,
    dependencies=[JSON_BODY],
)
def put_school_year(
    year: PathYear, body: SchoolYearUpsert, _admin: RegistryManager, session: WriteSessionDep
) -> SchoolYearPublic:
    service.upsert_years(session, [{"year": year, **body.model_dump()}])
    return service.get_year(session, year)


@router.get(
    "/education-levels",
    response_model=list[EducationLevelPublic],
    summary="The education structure: levels, grades, entrance age, duration",
)
def list_education_levels(
    session: SessionDep, _user: ReferenceReader
) -> list[EducationLevelPublic]:
    return service.list_levels(session)


@router.put(
    "/education-levels/{code}",
    response_model=list[EducationLevelPublic],
    summary="Create or update one level of the structure (administrators)",
    responses=ADMINS_ONLY,
    dependencies=[JSON_BODY],
)
def put_education_level(
    code: LevelPathCode,
    body: EducationLevelUpsert,
    _admin: RegistryManager,
    session: WriteSessionDep,
) -> list[EducationLevelPublic]:
    service.upsert_levels(session, [{"code": code, **body.model_dump()}])
    return service.list_levels(session)


@router.get(
    "/population",
    response_model=PopulationPublic,
    summary="Population of a unit in your area (and below) by single age and sex",
    responses=problem_responses(
        400,
        403,
        404,
        s400="The URL holds a NUL character (e.g. `unit=%00`); nothing was looked up.",
        s403="The unit lies outside your area.",
        s404="No admin unit has this code.",
    ),
)
def get_population(
    session: SessionDep,
    user: SchoolReader,
    unit: Annotated[str, Query(examples=["DM-R01"])],
    year: QueryYear,
) -> PopulationPublic:
    service.area_path(session, user, unit)  # 404 unknown, 403 outside the caller's area
    rows = service.population_for(session, unit, year)
    return PopulationPublic.model_validate({"unit": unit, "year": year, "rows": rows})


@router.put(
    "/population",
    response_model=PopulationCounts,
    summary="Set population figures (administrators)",
    responses=ADMINS_ONLY,
    dependencies=[JSON_BODY],
)
def put_population(
    body: PopulationUpsert, _admin: RegistryManager, session: WriteSessionDep
) -> PopulationCounts:
    counts = service.upsert_population(session, [r.model_dump() for r in body.rows])
    return PopulationCounts(
        created=counts.created, updated=counts.updated, unchanged=counts.unchanged
    )
