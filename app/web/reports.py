"""`GET /reports/diagnosis/{unit}`: the diagnosis report as a page or, with `?format=pdf`, as
an A4 PDF (WeasyPrint, charts embedded as SVG drawn on the server). `emis report diagnosis`
writes the same PDF without a server."""

import base64
import logging
import re
import threading
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.core.deps import SessionDep
from app.core.errors import InvalidInput
from app.web import charts
from app.web.report import Report
from app.web.report import build as build_report
from app.web.router import PAGE_CSP, STATIC_DIR, HtmlErrors, YearQuery, templates
from app.web.session import LANG_COOKIE, WebUser, page_language, set_cookie
from app.web.text import Words, languages

router = APIRouter(route_class=HtmlErrors, include_in_schema=False)
CSS_FILE = STATIC_DIR / "report.css"
log = logging.getLogger(__name__)


def chart_images(report: Report) -> dict[str, str]:
    """Each chart as a `data:` URL of its SVG, drawn as the page's download is (vl-convert),
    its numbers as the report's language writes them."""
    out = {}
    for key, chart in report.charts.items():
        svg = charts.chart_svg(chart, report.lang)
        out[key] = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return out


def report_html(report: Report, pdf: bool, links: dict[str, Any] | None = None) -> str:
    """The report as one HTML document: styles inline, charts as data URLs (nothing fetched)."""
    w = Words(report.lang)
    return templates.env.get_template("report.html").render(
        r=report,
        w=w,
        pdf=pdf,
        css=CSS_FILE.read_text(encoding="utf-8"),
        images=chart_images(report),
        links=links or {},
        title=w.t("report_title", unit=report.unit.name, year=report.year),
    )


def report_pdf(html: str) -> bytes:
    """The document on A4 through WeasyPrint: system fonts (DejaVu), `data:` URLs only (no
    network, no files)."""
    import weasyprint  # type: ignore[import-untyped]  # ships no type information

    fetcher: Any
    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint 68 and later
        fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    else:  # pragma: no cover  # older: a function
        fetcher = _data_only(weasyprint)
    pdf = weasyprint.HTML(
        string=html, base_url=Path(STATIC_DIR).as_uri() + "/", url_fetcher=fetcher
    ).write_pdf()
    return bytes(pdf)


def _data_only(weasyprint: Any) -> Any:  # pragma: no cover
    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        if not url.startswith("data:"):
            raise ValueError(f"The report fetches nothing: {url[:60]!r}")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)

    return fetch


WARM_DOCUMENT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><style>{css}</style>
</head><body><h1>Warm-up</h1><p>12,5 % · 12.5%</p><table><tr><th>A</th><td>1</td></tr></table>
<img src="{svg}" alt="chart"></body></html>"""


def warm_renderers() -> None:
    """Load what the first report would otherwise load while its reader waits: WeasyPrint and
    its fonts (Pango, fontconfig), and vl-convert's JavaScript engine. Draws a tiny chart and
    lays out a one-page document with the report's styles."""
    spec = charts.bars("warm", "Warm-up", [{"x": "a", "y": 1}], "x", "y", "", "")
    svg = charts.to_svg(spec, "fr")
    url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    report_pdf(WARM_DOCUMENT.format(css=CSS_FILE.read_text(encoding="utf-8"), svg=url))


def warm_in_background() -> threading.Event:
    """warm_renderers() in a daemon thread; the event is set when it is done (or failed: a
    renderer that cannot load fails again, with its message, on the first report)."""
    done = threading.Event()

    def run() -> None:
        try:
            warm_renderers()
        except Exception:  # the first report says what is wrong
            log.warning("renderers_warm_up_failed", exc_info=True)
        finally:
            done.set()

    threading.Thread(target=run, name="warm-renderers", daemon=True).start()
    return done


def file_name(report: Report) -> str:
    code = re.sub(r"[^A-Za-z0-9_.-]", "_", report.unit.code)
    return f"diagnosis-{code}-{report.year}-{report.lang}.pdf"


@router.get("/reports/diagnosis/{unit}")
def diagnosis(
    request: Request,
    session: SessionDep,
    user: WebUser,
    unit: str,
    year: YearQuery = None,
    level: Annotated[str, Query(max_length=40)] = "",
    format: Annotated[str, Query(max_length=10)] = "html",
) -> Response:
    """The departmental diagnosis: data note, access, internal efficiency, resources, equity,
    with the unit set beside the nation and the figures that cannot be trusted named."""
    if format not in ("html", "pdf"):
        raise InvalidInput("format is html or pdf.")
    lang = page_language(request)
    report = build_report(session, user, unit, year, lang, level)
    if format == "pdf":
        response: Response = Response(
            report_pdf(report_html(report, pdf=True)),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{file_name(report)}"'},
        )
    else:
        params = {"year": report.year, "level": report.level.code}
        here = request.url.path
        links = {
            "back": f"/web/units/{report.unit.code}?" + urlencode(params),
            "pdf": here + "?" + urlencode({**params, "lang": report.lang, "format": "pdf"}),
            "langs": [
                (code, here + "?" + urlencode({**params, "lang": code})) for code in languages()
            ],
        }
        response = HTMLResponse(report_html(report, pdf=False, links=links))
        response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Content-Language"] = report.lang
    if request.query_params.get("lang") in languages():
        set_cookie(request, response, LANG_COOKIE, report.lang, max_age=365 * 86400)
    return response
