"""The dashboard's pages: server-rendered, each drill-down state its own URL (bookmarkable,
printable), htmx for partial updates, charts drawn by vega-embed from the package's own copy."""

import csv
import io
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from app.auth.service import issue_session_token, revoke_token
from app.core.bounds import YEAR_MAX, YEAR_MIN
from app.core.csvcell import safe_cell
from app.core.deps import PUBLIC, SessionDep, SettingsDep, UowDep
from app.core.errors import AppError, InvalidInput, NotFound, TooManyRequests, Unauthorized
from app.core.principal import Principal
from app.indicators.router import _csv as indicator_csv
from app.registry.service import school_in_area
from app.web import charts, pages
from app.web import figures as fg
from app.web.session import (
    LANG_COOKIE,
    PRESIGN_COOKIE,
    SESSION_COOKIE,
    SignInNeeded,
    WebUser,
    check_csrf,
    csrf_for,
    new_presign,
    page_language,
    set_cookie,
)
from app.web.text import Words, languages

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"

# Pages load scripts, styles and fonts from this server only; vega runs with its expression
# interpreter (no eval); vega-embed sets style attributes.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGES = {
    "overview": "nav_overview",
    "flow": "nav_flow",
    "resources": "nav_resources",
    "completeness": "nav_completeness",
}


PAGE_PREFIXES = ("/web/", "/reports/")


def is_page(path: str) -> bool:
    """A dashboard page (signed in with the session cookie), not an API route."""
    return path == "/" or path.startswith(PAGE_PREFIXES)


class HtmlErrors(APIRoute):
    """Errors of a page are pages too (a 403 says so in the reader's language); a missing or
    ended session sends the reader to the sign-in form and back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(
                    "/web/login?" + urlencode({"next": target}), status_code=303
                )
            except AppError as exc:
                return error_page(request, exc.status, exc.detail)

        return run


router = APIRouter(route_class=HtmlErrors, include_in_schema=False)


def error_page(request: Request, status: int, detail: str) -> Response:
    w = Words(page_language(request))
    title = {403: w.t("forbidden"), 404: w.t("not_found")}.get(status, w.t("error"))
    return render(
        request, "error.html", {"title": title, "detail": detail, "status": status}, status=status
    )


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    lang = page_language(request)
    w = Words(lang)

    def url(path: str, **params: Any) -> str:
        p = {k: v for k, v in params.items() if v not in (None, "")}
        return path + ("?" + urlencode(p) if p else "")

    def lang_url(to: str) -> str:
        q = dict(request.query_params)
        q["lang"] = to
        return request.url.path + "?" + urlencode(q)

    response = templates.TemplateResponse(
        request,
        name,
        {
            "w": w,
            "lang": lang,
            "languages": languages(),
            "url": url,
            "lang_url": lang_url,
            **context,
        },
        status_code=status,
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Content-Language"] = lang
    if request.query_params.get("lang") in languages():
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


def _filters(request: Request, ctx: fg.Context | None, year: int | None) -> fg.Filters:
    q = request.query_params
    levels = [lv.code for lv in ctx.levels] if ctx else []
    level = q.get("level") or ("primary" if "primary" in levels else (levels[0] if levels else ""))
    if levels and level not in levels:
        raise InvalidInput(
            f"Unknown education level {level[:40]!r}; use one of {', '.join(levels)}."
        )
    sex = q.get("sex", "")
    if sex not in ("", "F", "M"):
        raise InvalidInput("sex is F, M or empty (both).")
    ownership, locality = q.get("ownership", ""), q.get("locality", "")
    if ctx and ownership and ownership not in ctx.ownerships:
        raise InvalidInput(f"Unknown ownership {ownership[:40]!r}.")
    if ctx and locality and locality not in ctx.localities:
        raise InvalidInput(f"Unknown locality {locality[:40]!r}.")
    source = q.get("source", "working")
    if source not in fg.SOURCES:
        raise InvalidInput("source is working or release.")
    if year is None:
        year = ctx.years[0] if ctx and ctx.years else 0
    return fg.Filters(
        year=year, level=level, sex=sex, ownership=ownership, locality=locality, source=source
    )


YearQuery = Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX)]


def _unit_page(
    request: Request, session: Any, user: Principal, code: str, year: int | None, page: str
) -> tuple[fg.Context, fg.Filters, Words]:
    ctx = fg.unit_context(session, user, code, year)
    f = _filters(request, ctx, year)
    if year is None:
        ctx = fg.unit_context(session, user, code, f.year)
    return ctx, f, Words(page_language(request))


def _common(
    request: Request, user: Principal, ctx: fg.Context, f: fg.Filters, w: Words, page: str
) -> dict[str, Any]:
    token = request.cookies.get(SESSION_COOKIE, "")
    return {
        "user": user,
        "ctx": ctx,
        "f": f,
        "page": page,
        "pages": PAGES,
        "csrf": csrf_for(request, token),
        "path": request.url.path,
        "title": w.t("page_of", unit=ctx.unit.name, page=w.t(PAGES.get(page, "nav_report"))),
    }


@router.get("/", dependencies=[PUBLIC])
def home() -> RedirectResponse:
    return RedirectResponse("/web/", status_code=303)


@router.get("/web/")
def web_home(user: WebUser) -> RedirectResponse:
    return RedirectResponse(f"/web/units/{user.unit_code}", status_code=303)


@router.get("/web/login", dependencies=[PUBLIC])
def login_form(
    request: Request, next: Annotated[str, Query(max_length=2000)] = "/web/"
) -> Response:
    presign = request.cookies.get(PRESIGN_COOKIE) or new_presign()
    response = render(
        request,
        "login.html",
        {"csrf": csrf_for(request, presign), "next": _local(next), "error": ""},
    )
    set_cookie(request, response, PRESIGN_COOKIE, presign)
    return response


def _local(target: str) -> str:
    """Only a path of this site (no //host, no scheme): an open redirect is refused."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/web/"
    return target


@router.post("/web/login", dependencies=[PUBLIC])
def login(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/web/",
) -> Response:
    w = Words(page_language(request))
    presign = request.cookies.get(PRESIGN_COOKIE)
    check_csrf(request, presign, csrf)
    try:
        token = issue_session_token(uow, username, password, settings.session_token_minutes)
    except (Unauthorized, TooManyRequests) as exc:
        message = w.t("bad_login")
        status = 401
        if isinstance(exc, TooManyRequests):
            message = w.t("too_many", seconds=(exc.headers or {}).get("Retry-After", "60"))
            status = 429
        return render(
            request,
            "login.html",
            {
                "csrf": csrf_for(request, presign or ""),
                "next": _local(next),
                "error": message,
                "username": username[:64],
            },
            status=status,
        )
    response = RedirectResponse(_local(next), status_code=303)
    set_cookie(
        request, response, SESSION_COOKIE, token, max_age=settings.session_token_minutes * 60
    )
    response.delete_cookie(PRESIGN_COOKIE, path="/")
    return response


@router.post("/web/logout")
def logout(
    request: Request, uow: UowDep, user: WebUser, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    check_csrf(request, request.cookies.get(SESSION_COOKIE), csrf)
    revoke_token(uow.session, user.token_id)
    response = RedirectResponse("/web/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/web/units/{code}")
def unit_overview(
    request: Request,
    session: SessionDep,
    user: WebUser,
    code: str,
    year: YearQuery = None,
    sort: Annotated[str, Query(max_length=40)] = "",
    dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> Response:
    ctx, f, w = _unit_page(request, session, user, code, year, "overview")
    body = pages.overview(session, user, ctx, f, w, sort, dir == "desc")
    return render(
        request,
        "overview.html",
        {**_common(request, user, ctx, f, w, "overview"), **body, "sort": sort, "dir": dir},
    )


@router.get("/web/units/{code}/flow")
def unit_flow(
    request: Request, session: SessionDep, user: WebUser, code: str, year: YearQuery = None
) -> Response:
    ctx, f, w = _unit_page(request, session, user, code, year, "flow")
    body = pages.flow(session, user, ctx, f, w)
    return render(request, "flow.html", {**_common(request, user, ctx, f, w, "flow"), **body})


@router.get("/web/units/{code}/resources")
def unit_resources(
    request: Request, session: SessionDep, user: WebUser, code: str, year: YearQuery = None
) -> Response:
    ctx, f, w = _unit_page(request, session, user, code, year, "resources")
    body = pages.resources(session, user, ctx, f, w)
    return render(
        request, "resources.html", {**_common(request, user, ctx, f, w, "resources"), **body}
    )


@router.get("/web/units/{code}/completeness")
def unit_completeness(
    request: Request, session: SessionDep, user: WebUser, code: str, year: YearQuery = None
) -> Response:
    ctx, f, w = _unit_page(request, session, user, code, year, "completeness")
    body = pages.completeness_page(session, user, ctx, f, w)
    return render(
        request, "completeness.html", {**_common(request, user, ctx, f, w, "completeness"), **body}
    )


@router.get("/web/schools/{code}")
def school(
    request: Request, session: SessionDep, user: WebUser, code: str, year: YearQuery = None
) -> Response:
    _school, unit = school_in_area(session, user, code)  # 404 / 403 before anything is read
    ctx, f, w = _unit_page(request, session, user, unit.code, year, "school")
    body = pages.school_page(session, user, code, f, w)
    common = _common(request, user, ctx, f, w, "school")
    common["title"] = f"{body['school'].name} ({code})"
    return render(request, "school.html", {**common, **body})


def _chart_of(
    request: Request, session: Any, user: Principal, code: str, page: str, year: int | None
) -> dict[str, charts.Chart]:
    ctx, f, w = _unit_page(request, session, user, code, year, page)
    builders = {
        "overview": lambda: pages.overview(session, user, ctx, f, w, "", False),
        "flow": lambda: pages.flow(session, user, ctx, f, w),
        "resources": lambda: pages.resources(session, user, ctx, f, w),
        "completeness": lambda: pages.completeness_page(session, user, ctx, f, w),
    }
    if page not in builders:
        raise NotFound(f"No page {page[:40]!r}.")
    return {c.id: c for c in builders[page]()["charts"]}


@router.get("/web/units/{code}/{page}/charts/{chart}.svg")
def chart_svg(
    request: Request,
    session: SessionDep,
    user: WebUser,
    code: str,
    page: str,
    chart: str,
    year: YearQuery = None,
) -> Response:
    found = _chart_of(request, session, user, code, page, year).get(chart)
    if found is None:
        raise NotFound(f"No chart {chart[:40]!r} on this page.")
    return Response(
        charts.chart_svg(found, page_language(request)),
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="{code}-{chart}.svg"'},
    )


@router.get("/web/units/{code}/{page}/charts/{chart}.csv")
def chart_csv(
    request: Request,
    session: SessionDep,
    user: WebUser,
    code: str,
    page: str,
    chart: str,
    year: YearQuery = None,
) -> Response:
    found = _chart_of(request, session, user, code, page, year).get(chart)
    if found is None:
        raise NotFound(f"No chart {chart[:40]!r} on this page.")
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow([c for c, _ in found.columns])
    for r in found.rows:
        out.writerow(
            [safe_cell(r.get(c)) if r.get(c) is not None else "" for c, _ in found.columns]
        )
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{code}-{chart}.csv"'},
    )


@router.get("/web/units/{code}/indicators.csv")
def indicators_csv(
    request: Request, session: SessionDep, user: WebUser, code: str, year: YearQuery = None
) -> Response:
    """The children table's figures as the API gives them: the same query, the same CSV
    (`GET /api/v1/indicators?year=&unit=&level=<unit>,<children>&indicator=…&education_level=`)."""
    ctx, f, _w = _unit_page(request, session, user, code, year, "overview")
    rows = fg.working_rows(
        session, user, f, code, (ctx.unit.level, ctx.unit.level + 1), fg.ONE_YEAR_TILES
    )
    return indicator_csv(
        rows,
        ["unit", "unit_name", "level", "indicator", "education_level"],
        f"indicators-{code}-{f.year}.csv",
    )


@router.get("/web/units/{code}/schools.csv")
def schools_csv(
    request: Request, session: SessionDep, user: WebUser, code: str, year: YearQuery = None
) -> Response:
    _ctx, f, _w = _unit_page(request, session, user, code, year, "overview")
    rows = fg.schools(session, user, f, code)
    fields = [
        "school",
        "school_name",
        "unit",
        "ownership",
        "locality",
        "return_status",
        "revision",
        "pupils",
        "girls",
        "repeaters",
        "teachers",
        "classrooms",
        "PTR",
        "PCR",
        "PCT_REP",
    ]
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(fields)
    for r in rows:
        out.writerow([safe_cell(r.get(k)) if r.get(k) is not None else "" for k in fields])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="schools-{code}-{f.year}.csv"'},
    )
