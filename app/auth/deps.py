"""Who is calling, and may they? Dependencies every feature reuses."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends
from fastapi.routing import APIRoute
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


def route_rule(dependant: Any) -> Any:
    """The rule a route declares: a Permission, "public", or None when it declares none
    (found among its dependencies, however deep)."""
    found = getattr(dependant.call, "permission", None)
    if found is not None:
        return found
    for sub in dependant.dependencies:
        if (inner := route_rule(sub)) is not None:
            return inner
    return None


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute of an app, included routers too."""
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):  # FastAPI's included routers
            out.extend(api_routes(r.original_router.routes))
        elif hasattr(r, "routes") and not hasattr(r, "app"):
            out.extend(api_routes(r.routes))
    return out


def document_rules(app: Any, spec: dict[str, Any], responses: Any) -> None:
    """Every guarded operation documents 401 and 403 with the permission it needs."""
    for route in api_routes(app.router.routes):
        rule = route_rule(route.dependant)
        if not isinstance(rule, Permission) or route.path not in spec.get("paths", {}):
            continue
        for method in route.methods or ():
            op = spec["paths"][route.path].get(method.lower())
            if op is None:
                continue
            given = op.setdefault("responses", {})
            need = (
                f"Needs the permission `{rule.value}` (held by {', '.join(roles_with(rule))}), "
                "inside your area."
            )
            extra = responses(401, 403, s403=need)
            for code, doc in extra.items():
                given.setdefault(str(code), doc)
            if "403" in given and need not in given["403"].get("description", ""):
                given["403"]["description"] = f"{given['403']['description']} {need}"
