"""Request dependencies shared by every feature: settings and the database session."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def get_session(request: Request) -> Iterator[Session]:
    """A read session for one request."""
    yield from _session(request.app.state.read_sessionmaker)


def get_write_session(request: Request) -> Iterator[Session]:
    """A session for a use case that writes; the use case commits it, the rest is rolled back."""
    yield from _session(request.app.state.sessionmaker)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
