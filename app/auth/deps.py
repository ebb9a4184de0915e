"""Who is calling, and may they? Dependencies every feature reuses."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.service import resolve_token
from app.core.deps import UowDep
from app.core.errors import Forbidden, Unauthorized
from app.core.principal import Principal

_bearer = HTTPBearer(auto_error=False, description="A session token or a device token.")


def get_current_user(
    uow: UowDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, checked with the request's own session (no connection of its own)."""
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Send Authorization: Bearer <token>.")
    user = resolve_token(uow.reader, creds.credentials, uow.now)
    uow.actor = user
    return user


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only the given roles through (403 otherwise)."""

    def _check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise Forbidden(f"This needs one of the roles {', '.join(roles)}; you are {user.role}.")
        return user

    return _check


AdminUser = Annotated[Principal, Depends(require_roles("admin"))]


def ensure_in_area(user: Principal, unit_path: str, what: str) -> None:
    """403 when the thing lies outside the caller's area."""
    if not user.covers(unit_path):
        raise Forbidden(f"{what} lies outside your area ({user.unit_code}).")
