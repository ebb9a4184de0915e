"""Who is calling, and may they? Dependencies every feature reuses."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.permissions import Permission, may, roles_with
from app.auth.service import note_token_use, resolve_token
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
    user, last_used = resolve_token(uow.reader, creds.credentials, uow.now)
    uow.actor = user
    note_token_use(uow, user, last_used)
    return user


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def authorize(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that lets through only callers whose role holds `permission` (401 without a
    good token, 403 without the permission); the route's rule is readable from it."""

    def _check(user: CurrentUser) -> Principal:
        if not may(user.role, permission):
            raise Forbidden(
                f"This needs the permission {permission.value}, held by "
                f"{', '.join(roles_with(permission))}; you are {user.role}."
            )
        return user

    _check.permission = permission  # type: ignore[attr-defined]
    _check.__name__ = f"authorize_{permission.name}"
    return _check
