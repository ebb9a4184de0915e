"""Form definition endpoints."""

from typing import Any

from fastapi import APIRouter

from app.core.bounds import PathVersion
from app.core.deps import SessionDep
from app.forms import service
from app.forms.permissions import FormReader
from app.forms.schemas import form_responses

router = APIRouter(prefix="/api/v1/forms", tags=["forms"])


@router.get("", summary="All form definitions, every version", responses=form_responses(many=True))
def list_forms(session: SessionDep, _user: FormReader) -> list[dict[str, Any]]:
    return [r.definition for r in service.list_forms(session)]


@router.get(
    "/{code}/{version}",
    summary="One version of one form definition",
    responses=form_responses(many=False),
)
def get_form(
    code: str, version: PathVersion, session: SessionDep, _user: FormReader
) -> dict[str, Any]:
    return service.get_form_row(session, code, version).definition
