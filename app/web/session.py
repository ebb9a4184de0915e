"""Signing in to the pages: the same users, roles, areas and tokens as the API.

A sign-in issues an ordinary session token (`auth.service.issue_session_token`: the same login
limits and audit trail as `POST /api/v1/auth/token`) and keeps it in an HttpOnly, SameSite=Strict
cookie; every page resolves it as the API resolves a bearer token, so revocation, expiry and
areas apply alike. Forms that change anything (sign in, sign out) carry a CSRF token: an HMAC,
under the server's secret, of the session token (signed in) or of a random pre-sign-in cookie
(the sign-in form itself), and the browser's Origin, when sent, must be this server."""

import hashlib
import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from app.auth.permissions import Permission, may
from app.auth.service import note_token_use, resolve_token
from app.core.deps import UowDep
from app.core.errors import AppError, Forbidden, Unauthorized
from app.core.principal import Principal
from app.web.text import DEFAULT, languages

SESSION_COOKIE = "emis_session"
PRESIGN_COOKIE = "emis_presign"
LANG_COOKIE = "emis_lang"


class SignInNeeded(AppError):
    """No valid session cookie: the page answers with a redirect to the sign-in form."""

    status = 303
    type = "sign-in-needed"
    title = "Sign in"


class CsrfFailed(AppError):
    status = 403
    type = "csrf-failed"
    title = "Forbidden"


def _secret(request: Request) -> bytes:
    secret: str = request.app.state.settings.secret_key.get_secret_value()
    return secret.encode()


def csrf_for(request: Request, basis: str) -> str:
    return hmac.new(_secret(request), b"csrf:" + basis.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, basis: str | None, given: str) -> None:
    """The form's token must match its basis, and a cross-site Origin is refused."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin.rstrip("/") != own:
            raise CsrfFailed("The form was sent from another site.")
    if not basis or not hmac.compare_digest(csrf_for(request, basis), given or ""):
        raise CsrfFailed("The form's security token is missing or has expired.")


def new_presign() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(request: Request, response: Response, name: str, value: str, **kw: Any) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
        **kw,
    )


def page_language(request: Request) -> str:
    """?lang= first (the switch's links), then the cookie it leaves, then Accept-Language."""
    from app.core.lang import pick_language

    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in languages():
        return str(asked)
    return pick_language(request.headers.get("accept-language"), languages()) or DEFAULT


def web_user(request: Request, uow: UowDep) -> Principal:
    """The signed-in reader of a page (their role must read figures)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded("Sign in to see this page.")
    try:
        user, last_used = resolve_token(uow.reader, token, uow.now)
    except Unauthorized as exc:
        raise SignInNeeded("Your session has ended: sign in again.") from exc
    uow.actor = user
    note_token_use(uow, user, last_used)
    if not may(user.role, Permission.read_figures):
        raise Forbidden(f"Your role ({user.role}) does not read figures.")
    return user


web_user.permission = Permission.read_figures  # type: ignore[attr-defined]  # the route rule
WebUser = Annotated[Principal, Depends(web_user)]
