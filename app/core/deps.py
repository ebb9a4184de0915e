"""Request dependencies shared by every feature: settings, the unit of work and its sessions."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.audit import Origin
from app.core.config import Settings
from app.core.uow import UnitOfWork, unit_of_work


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def request_origin(request: Request) -> Origin:
    """The caller's address and device, as the audit trail records them (printable only)."""
    device = request.headers.get("x-device-id", "")
    device = "".join(c for c in device[:100] if c.isprintable())
    return Origin(address=request.client.host if request.client else "", device=device)


def get_uow(request: Request) -> Iterator[UnitOfWork]:
    """The request's unit of work: committed when the endpoint returns, before the response
    leaves (scope="function"), rolled back when it raises."""
    with unit_of_work(request.app.state.db, origin=request_origin(request)) as uow:
        yield uow


# scope="function": the exit code (the commit) runs before the response is sent, so a failed
# commit becomes an error response and nothing is acknowledged that is not durable.
UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def get_read_session(uow: UowDep) -> Session:
    """The request's session for reading (the one the token was checked with)."""
    return uow.reader


def get_write_session(uow: UowDep) -> Session:
    """The request's write session; the unit of work commits it."""
    return uow.session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_read_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]


def public() -> None:
    """Marks a route that anyone may call without a token (health, sign-in, definitions)."""


public.permission = "public"  # type: ignore[attr-defined]
PUBLIC = Depends(public)
