"""The dashboard in a real browser: Chromium driven by Playwright against a uvicorn server on
the demo country with returns for both years (on the suite's database, SQLite or PostgreSQL).

What a reader would check: signing in through the form and drilling down by clicking from the
nation to a school's return; French words and numbers; the children table's CSV downloaded
through the browser equals the API's; a clerk is refused pages outside their district; axe-core
finds no serious or critical violation on any page; every chart draws, with no console error
(a CSP violation shows there), even with every host but the loopback cut off.

Chromium is Debian's (`apt-get install -y chromium`, or EMIS_CHROMIUM=/path/to/chromium): the
tests fail, never skip, without it. Screenshots of each page go to EMIS_SCREENSHOT_DIR (or a
temporary directory); EMIS_UPDATE_SCREENSHOTS=1 also writes them to docs/screenshots/ for the
README."""

import csv
import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import DatabaseFactory, passwords
from tests.servers import login, running_server
from tests.web.helpers import build_web_demo

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("EMIS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_CHROMIUM = (
    f"Chromium is not installed at {CHROMIUM}: the dashboard's browser tests need it. Install "
    "Debian's (apt-get install -y chromium) or set EMIS_CHROMIUM to a Chromium binary."
)
VIEWPORT = {"width": 1280, "height": 900}
TILES = "GER,NER,GIR,GIR_LAST,GPI_GER,PTR,PCR,PCT_REP"
CLERK_AREA, OTHER_DISTRICT = "DM-R01-D001", "DM-R01-D002"
STATUS_EN = {
    "submitted": "Submitted",
    "invalid": "Invalid",
    "returned": "Sent back",
    "approved": "Approved",
    "locked": "Locked",
}
# Every chart of the page has been drawn (data-ready) or has failed (data-failed).
CHARTS_SETTLED = (
    "() => [...document.querySelectorAll('div.vega')]"
    ".every(e => e.dataset.ready === '1' || e.dataset.failed !== undefined)"
)
CHART_STATES = (
    "() => [...document.querySelectorAll('div.vega')].map(e => ({"
    "id: e.closest('figure') ? e.closest('figure').id : '', ready: e.dataset.ready || '',"
    "failed: e.dataset.failed || '', svg: !!e.querySelector('svg')}))"
)
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' '))}));
}"""
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


# ---------------------------------------------------------------- the site and the browser


@dataclass
class Site:
    base: str
    users: dict[str, str]
    years: tuple[int, int]
    shots: Path
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    def headers(self, who: str) -> dict[str, str]:
        if who not in self.tokens:
            self.tokens[who] = login(self.base, who, self.users[who])
        return self.tokens[who]

    def api(self, path: str, who: str = "admin", **params: Any) -> httpx.Response:
        resp = httpx.get(self.url(path), params=params, headers=self.headers(who), timeout=30)
        assert resp.status_code == 200, (path, params, resp.status_code, resp.text[:500])
        return resp

    def shot(self, page: Page, name: str) -> None:
        """A full-page screenshot (and the README's copy with EMIS_UPDATE_SCREENSHOTS=1)."""
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("EMIS_UPDATE_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SHOTS / f"{name}.png")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, db_factory: DatabaseFactory) -> Iterator[Site]:
    url = db_factory.copy(db_factory.template("web_demo", build_web_demo))
    result = db_factory.built["web_demo"]
    shots_env = os.environ.get("EMIS_SCREENSHOT_DIR")
    shots = Path(shots_env) if shots_env else tmp_path_factory.mktemp("screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with running_server(url, tmp_path_factory.mktemp("browser-server")) as srv:
            yield Site(srv.base, passwords(result), tuple(result.years), shots)  # type: ignore[arg-type]
    finally:
        db_factory.drop(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(HOW_TO_CHROMIUM, pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(page: Page, site: Site, who: str) -> None:
    """Through the form, as a reader does (the page must show it)."""
    page.fill("#username", who)
    page.fill("#password", site.users[who])
    page.click("form.login button[type=submit]")
    page.wait_for_load_state("load")
    assert "/web/login" not in page.url, f"{who} could not sign in: {page.inner_text('main')}"


@pytest.fixture(scope="module")
def analyst_state(site: Site, browser: Browser) -> dict[str, Any]:
    """The cookies of an analyst signed in through the form, for the tests' new contexts."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(site.url("/web/login"))
    sign_in(page, site, "analyst")
    state: dict[str, Any] = context.storage_state()  # type: ignore[assignment]
    context.close()
    return state


class Watch:
    """What the page logged as errors (failed loads, CSP refusals, exceptions)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    def take(self) -> list[str]:
        out, self.errors = self.errors, []
        return out


def settle_charts(page: Page, timeout: float = 20_000) -> list[dict[str, Any]]:
    page.wait_for_function(CHARTS_SETTLED, timeout=timeout)
    states: list[dict[str, Any]] = page.evaluate(CHART_STATES)
    return states


def plain(text: str) -> str:
    """Spaces of every kind (no-break, narrow no-break) made plain and collapsed."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


def query(url: str, name: str) -> str:
    return parse_qs(urlparse(url).query)[name][0]


def school_of(site: Site, unit: str) -> str:
    items = site.api("/api/v1/schools", unit=unit, limit=1).json()["items"]
    return str(items[0]["code"])


def pages_to_visit(site: Site) -> list[tuple[str, str, bool]]:
    """(name, path, has charts) of each kind of page, the year being the current one."""
    y = site.years[1]
    school = school_of(site, CLERK_AREA)
    return [
        ("overview", f"/web/units/DM?year={y}", True),
        ("overview-region", f"/web/units/DM-R01?year={y}", True),
        ("overview-district", f"/web/units/{CLERK_AREA}?year={y}", False),
        ("school", f"/web/schools/{school}?year={y}", False),
        ("flow", f"/web/units/DM/flow?year={y}", True),
        ("resources", f"/web/units/DM/resources?year={y}", True),
        ("completeness", f"/web/units/DM/completeness?year={y}", True),
    ]


# ---------------------------------------------------------------- a reader's path


def test_an_analyst_signs_in_and_drills_down_to_a_schools_return(
    site: Site, browser: Browser
) -> None:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    watch = Watch(page)
    page.goto(site.url("/web/units/DM"))
    # Not signed in: the sign-in form, which brings the reader back to the page asked for.
    assert urlparse(page.url).path == "/web/login", page.url
    expect(page.locator("#username")).to_be_visible()
    site.shot(page, "login")
    sign_in(page, site, "analyst")
    assert urlparse(page.url).path == "/web/units/DM", page.url
    expect(page.locator("h1")).to_contain_text("Demoland")

    # Nation -> region -> district, clicking the children table's links (htmx-boosted).
    crumbs = ["Demoland"]
    for level in (1, 2):
        link = page.locator("#children-table tbody th a").first
        name = link.inner_text().strip()
        code = link.locator("xpath=ancestor::tr/td[1]").inner_text().strip()
        assert code.count("-") == level, code
        link.click()
        page.wait_for_url(re.compile(rf"/web/units/{re.escape(code)}(\?|$)"))
        expect(page.locator("h1")).to_contain_text(name)
        for parent in crumbs:
            expect(page.locator("nav.crumbs")).to_contain_text(parent)
        crumbs.append(name)
    district = code
    year = int(query(page.url, "year"))
    assert year == site.years[1]

    # District -> one of its schools.
    link = page.locator("#schools-table tbody th a").first
    school_name = link.inner_text().strip()
    school = link.locator("xpath=ancestor::tr/td[1]").inner_text().strip()
    link.click()
    page.wait_for_url(re.compile(rf"/web/schools/{re.escape(school)}(\?|$)"))
    expect(page.locator("h1")).to_contain_text(school_name)
    for name in crumbs:
        expect(page.locator("nav.crumbs")).to_contain_text(name)

    # Its return as the API has it: status and revision.
    returns = site.api("/api/v1/returns", "analyst", year=year, unit=district, limit=1000)
    ret = next(r for r in returns.json()["items"] if r["school"] == school)
    expect(page.locator("#return-status")).to_have_text(STATUS_EN[ret["status"]])
    revision = page.locator("dl.facts > div", has=page.locator("dt", has_text="Revision"))
    expect(revision.locator("dd")).to_have_text(str(ret["revision"]))
    expect(page.locator("main h2").first).to_contain_text(f"{ret['form']} {year}")
    assert watch.take() == []
    context.close()


def test_charts_draw_when_reached_from_a_page_without_charts(
    site: Site, browser: Browser, analyst_state: dict[str, Any]
) -> None:
    """A bookmarked school page (no charts, so no vega scripts), then the nav's "Pupil flow":
    the boosted page's charts draw all the same."""
    context = browser.new_context(viewport=VIEWPORT, storage_state=analyst_state)  # type: ignore[arg-type]
    page = context.new_page()
    watch = Watch(page)
    page.goto(site.url(f"/web/schools/{school_of(site, CLERK_AREA)}?year={site.years[1]}"))
    page.locator("nav.pages a[href*='/flow']").click()
    page.wait_for_url(re.compile(r"/web/units/[^/]+/flow"))
    expect(page.locator("div.vega").first).to_be_attached()
    try:
        states = settle_charts(page, timeout=5_000)
    except PlaywrightTimeout:
        states = page.evaluate(CHART_STATES)
    assert states and all(s["ready"] and s["svg"] for s in states), (
        "charts not drawn after a boosted move from a page without charts "
        f"(vegaEmbed is {page.evaluate('typeof vegaEmbed')}): {states}"
    )
    assert watch.take() == []
    context.close()


def french(value: float, digits: int) -> str:
    """As French writes a number (spaces made plain): 12 345,6."""
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",")


def test_french_words_and_numbers(
    site: Site, browser: Browser, analyst_state: dict[str, Any]
) -> None:
    context = browser.new_context(viewport=VIEWPORT, storage_state=analyst_state)  # type: ignore[arg-type]
    page = context.new_page()
    watch = Watch(page)
    y = site.years[1]
    page.goto(site.url(f"/web/units/DM?year={y}"))
    expect(page.locator("#tile-GER h3")).to_contain_text("Gross enrolment ratio")
    page.locator("nav.langs a[hreflang=fr]").click()
    page.wait_for_url(re.compile(r"[?&]lang=fr"))
    expect(page.locator("#tile-GER h3")).to_contain_text("Taux brut de scolarisation")
    # The page says it is French (screen readers pick their voice from it).
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("nav.pages")).to_contain_text("Vue d'ensemble")
    expect(page.locator("h1")).to_contain_text("Vue d'ensemble")

    # Each tile shows its value as French writes it: decimal comma, a space before %.
    shown = {}
    for code, digits, percent in (
        ("GER", 1, True),
        ("PCT_REP", 1, True),
        ("PTR", 1, False),
        ("GPI_GER", 2, False),
    ):
        tile = page.locator(f"li.tile#tile-{code}")
        value = float(tile.get_attribute("data-value") or "nan")
        text = plain(tile.locator("p.value").inner_text())
        want = french(value, digits) + (" %" if percent else "")
        assert text == want, (code, value, text, want)
        assert "," in text and "." not in text, text
        shown[code] = text
    assert re.fullmatch(r"\d+,\d %", shown["GER"]), shown  # e.g. "62,1 %"

    # Thousands grouped with a space: the GER's numerator, the API's pupils.
    rows = site.api(
        "/api/v1/indicators",
        "analyst",
        year=y,
        unit="DM",
        level="0",
        indicator="GER",
        education_level="primary",
    ).json()["rows"]
    ger = next(r for r in rows if r["indicator"] == "GER" and not r.get("disaggregation"))
    assert ger["numerator"] >= 1000, ger
    numerator = page.locator("#tile-GER dl.parts dd").first.inner_text()
    assert plain(numerator) == french(round(ger["numerator"]), 0), (numerator, ger)
    settle_charts(page)
    site.shot(page, "overview-fr")

    # The choice stays: the next page, reached without ?lang=, is French too.
    page.locator("nav.pages a[href*='/flow']").click()
    page.wait_for_url(re.compile(r"/flow"))
    expect(page.locator("h1")).to_contain_text("Flux d'élèves")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    settle_charts(page)
    assert watch.take() == []
    context.close()


def test_the_children_tables_csv_download_holds_the_apis_rows(
    site: Site, browser: Browser, analyst_state: dict[str, Any]
) -> None:
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        storage_state=analyst_state,  # type: ignore[arg-type]
        accept_downloads=True,
    )
    page = context.new_page()
    y = site.years[1]
    for unit, level, levels in (("DM", 0, "0,1"), ("DM-R01", 1, "1,2")):
        page.goto(site.url(f"/web/units/{unit}?year={y}"))
        link = page.locator("#children a[download]")
        expect(link).to_have_text("Download CSV")
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.failure() is None, download.failure()
        assert download.suggested_filename == f"indicators-{unit}-{y}.csv"
        got = list(csv.reader(io.StringIO(Path(download.path()).read_bytes().decode("utf-8"))))
        api = site.api(
            "/api/v1/indicators",
            "analyst",
            year=y,
            unit=unit,
            level=levels,
            indicator=TILES,
            education_level="primary",
            format="csv",
        )
        want = list(csv.reader(io.StringIO(api.content.decode("utf-8"))))
        assert got[0] == want[0], (got[0], want[0])  # the same header
        assert len(got) > 1 + len(TILES.split(",")), f"{unit}: only {len(got)} lines"
        assert got[1:] == want[1:], f"{unit}: the download's rows differ from the API's"
        units = {r[0] for r in got[1:]}
        assert unit in units and len(units) > 1, units  # the unit and its children
        assert {r[2] for r in got[1:]} == {str(level), str(level + 1)}
    context.close()


def test_a_clerk_is_refused_pages_outside_their_district(site: Site, browser: Browser) -> None:
    other_school = school_of(site, OTHER_DISTRICT)
    own_school = school_of(site, CLERK_AREA)
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(site.url("/web/"))
    sign_in(page, site, "clerk")
    # The clerk lands on their own district, and sees their own schools.
    assert urlparse(page.url).path == f"/web/units/{CLERK_AREA}", page.url
    resp = page.goto(site.url(f"/web/schools/{own_school}"))
    assert resp is not None and resp.status == 200
    for path, what in ((f"/web/schools/{other_school}", other_school), ("/web/units/DM", "DM")):
        resp = page.goto(site.url(path))
        assert resp is not None and resp.status == 403, (path, resp and resp.status)
        expect(page.locator("h1")).to_have_text("You may not see this page")
        message = page.locator("main p.error[role=alert]")
        expect(message).to_be_visible()
        # Says what was refused and why: "School 'DM-000002' lies outside your area (…)".
        expect(message).to_contain_text(f"'{what}'")
        expect(message).to_contain_text(f"outside your area ({CLERK_AREA})")
        expect(page.locator("main a[href='/web/']")).to_be_visible()  # a way back
        if path.startswith("/web/schools/"):
            site.shot(page, "forbidden")
    context.close()


# ---------------------------------------------------------------- every page


def test_every_page_draws_its_charts_offline_with_no_console_error(
    site: Site, browser: Browser, analyst_state: dict[str, Any]
) -> None:
    """With every host but the loopback cut off: the pages load, their charts draw from the
    server's own scripts, nothing asks for another host, nothing logs an error (a CSP refusal
    would)."""
    context = browser.new_context(viewport=VIEWPORT, storage_state=analyst_state)  # type: ignore[arg-type]
    elsewhere: list[str] = []
    loopback: list[str] = []

    def only_loopback(route: Route, request: Request) -> None:
        host = urlparse(request.url).hostname or ""
        if request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            loopback.append(request.url)
            route.continue_()
        else:
            elsewhere.append(request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    page = context.new_page()
    watch = Watch(page)
    problems: list[str] = []
    for name, path, has_charts in pages_to_visit(site):
        resp = page.goto(site.url(path))
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        states = settle_charts(page)
        if has_charts and not states:
            problems.append(f"{name}: no chart on the page")
        for s in states:
            if s["failed"] or not s["svg"]:
                problems.append(f"{name}: chart {s['id']} not drawn: {s['failed']!r}")
        problems += [f"{name}: {e}" for e in watch.take()]
        site.shot(page, name)
    assert elsewhere == [], f"requests to hosts other than the loopback: {elsewhere}"
    assert any("/static/web/vendor/vega" in u for u in loopback), "the route saw no script"
    assert problems == [], "\n".join(problems)
    context.close()


def _serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def _axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return found


def _describe(name: str, violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{name}: [{v['impact']}] {v['id']}: {v['help']} -> {v['targets'][:5]}"
        + (f" (+{len(v['targets']) - 5} more)" if len(v["targets"]) > 5 else "")
        for v in violations
    )


def test_axe_finds_no_serious_accessibility_violation(
    site: Site, browser: Browser, analyst_state: dict[str, Any]
) -> None:
    """axe-core on every page, charts drawn (the tests' own script tag needs the page's CSP
    bypassed; the CSP itself is checked by the offline test)."""
    report: list[str] = []

    def audit(page: Page, name: str, url: str, status: int = 200) -> None:
        resp = page.goto(site.url(url))
        assert resp is not None and resp.status == status, (url, resp and resp.status)
        settle_charts(page)
        found = _serious(_axe(page))
        if found:
            report.append(_describe(name, found))

    anonymous = browser.new_context(viewport=VIEWPORT, bypass_csp=True)  # type: ignore[arg-type]
    audit(anonymous.new_page(), "login", "/web/login")
    anonymous.close()
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        storage_state=analyst_state,  # type: ignore[arg-type]
        bypass_csp=True,
    )
    page = context.new_page()
    for name, path, _charts in pages_to_visit(site):
        audit(page, name, path)
    audit(page, "overview-fr", f"/web/units/DM?year={site.years[1]}&lang=fr")
    audit(page, "not-found", "/web/units/NOWHERE?lang=en", status=404)
    context.close()
    assert report == [], "serious or critical accessibility violations:\n" + "\n".join(report)


def test_the_diagnosis_report_page_is_accessible(
    site: Site, browser: Browser, analyst_state: dict[str, Any]
) -> None:
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        storage_state=analyst_state,  # type: ignore[arg-type]
        bypass_csp=True,
    )
    page = context.new_page()
    resp = page.goto(site.url(f"/reports/diagnosis/DM-R01?year={site.years[1]}"))
    assert resp is not None
    assert resp.status == 200, (resp.status, resp.text()[:500])
    assert (resp.headers.get("content-type") or "").startswith("text/html")
    states = settle_charts(page)
    assert all(s["ready"] for s in states), states
    found = _serious(_axe(page))
    site.shot(page, "report")
    context.close()
    assert found == [], _describe("report", found)
