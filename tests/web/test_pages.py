"""The dashboard over HTTP, as a browser without scripts sees it: signing in (CSRF, limits,
redirects), who sees which page, the figures each page shows against the API's, French words
and numbers, and the downloads. The real browser's tests are in test_browser.py."""

import csv
import io
import json
import re
import statistics
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.auth.test_matrix import app_routes
from tests.conftest import DatabaseFactory, make_settings, passwords
from tests.web.helpers import build_web_demo, form_csrf, web_login

TILES = "GER,NER,GIR,GIR_LAST,GPI_GER,PTR,PCR,PCT_REP"


class Web:
    def __init__(self, url: str, users: dict[str, str], tmp: Path, years: list[int]) -> None:
        self.url, self.users, self.tmp, self.years = url, users, tmp, years
        self.app = create_app(make_settings(url, tmp))

    def client(self, who: str | None = None) -> TestClient:
        c = TestClient(self.app)
        if who:
            resp = web_login(c, who, self.users[who])
            assert resp.status_code == 303, resp.text
        return c

    def token(self, who: str) -> dict[str, str]:
        with TestClient(self.app) as c:
            r = c.post("/api/v1/auth/token", data={"username": who, "password": self.users[who]})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, db_factory: DatabaseFactory) -> Iterator[Web]:
    url = db_factory.copy(db_factory.template("web_demo", build_web_demo))
    result = db_factory.built["web_demo"]
    yield Web(url, passwords(result), tmp_path_factory.mktemp("web"), list(result.years))
    db_factory.drop(url)


def _text(html: str) -> str:
    """The page's words, tags stripped, spaces (no-break ones too) made plain."""
    plain = unescape(re.sub(r"<[^>]+>", " ", html))
    return re.sub(r"[\s\u00a0\u202f]+", " ", plain)


def _school_of(web: Web, unit: str) -> str:
    with TestClient(web.app) as c:
        page = c.get(f"/api/v1/schools?unit={unit}&limit=1", headers=web.token("admin")).json()
    return str(page["items"][0]["code"])


# ---------------------------------------------------------------- who sees what


def _page_calls(
    web: Web, inside: str, outside: str, school_in: str, school_out: str
) -> dict[tuple[str, str], tuple[str, str]]:
    """(method, path) of every page route -> (url inside the clerk's area, url outside)."""
    y = web.years[1]
    unit = lambda code, tail="": f"/web/units/{code}{tail}?year={y}"  # noqa: E731
    return {
        ("get", "/"): ("/", "/"),
        ("get", "/web/"): ("/web/", "/web/"),
        ("get", "/web/login"): ("/web/login", "/web/login"),
        ("get", "/web/units/{code}"): (unit(inside), unit(outside)),
        ("get", "/web/units/{code}/flow"): (unit(inside, "/flow"), unit(outside, "/flow")),
        ("get", "/web/units/{code}/resources"): (unit(inside, "/resources"), unit(outside, "/resources")),
        ("get", "/web/units/{code}/completeness"): (unit(inside, "/completeness"), unit(outside, "/completeness")),
        ("get", "/web/units/{code}/indicators.csv"): (unit(inside, "/indicators.csv"), unit(outside, "/indicators.csv")),
        ("get", "/web/units/{code}/schools.csv"): (unit(inside, "/schools.csv"), unit(outside, "/schools.csv")),
        ("get", "/web/units/{code}/{page}/charts/{chart}.csv"): (unit(inside, "/flow/charts/rates.csv"), unit(outside, "/flow/charts/rates.csv")),
        ("get", "/web/units/{code}/{page}/charts/{chart}.svg"): (unit(inside, "/flow/charts/rates.svg"), unit(outside, "/flow/charts/rates.svg")),
        ("get", "/web/schools/{code}"): (f"/web/schools/{school_in}?year={y}", f"/web/schools/{school_out}?year={y}"),
        ("get", "/reports/diagnosis/{unit}"): (f"/reports/diagnosis/{inside}?year={y}", f"/reports/diagnosis/{outside}?year={y}"),
    }  # fmt: skip


def test_every_page_is_refused_outside_the_readers_area_and_asks_for_a_sign_in(web: Web) -> None:
    clerk_area, other = "DM-R01-D001", "DM-R01-D002"
    calls = _page_calls(web, clerk_area, other, _school_of(web, clerk_area), _school_of(web, other))
    routes = {(m.lower(), p): rule for m, p, rule in app_routes(web.app, pages=True)}
    reads = {k for k in routes if k[0] == "get"}
    assert reads == set(calls), f"page routes without a call here: {reads - set(calls)}"
    public = {k for k, rule in routes.items() if rule == "public"}
    anonymous, clerk, analyst = web.client(), web.client("clerk"), web.client("analyst")
    for key, (inside, outside) in calls.items():
        # Without a session: the sign-in form, and back to the page after it.
        resp = anonymous.get(inside, follow_redirects=False)
        if key in public:
            assert resp.status_code in (200, 303), (key, resp.status_code)
            continue
        assert resp.status_code == 303, (key, resp.status_code)
        assert resp.headers["location"].startswith("/web/login?next=%2F"), key
        # Inside the clerk's area: served; outside: a 403 page that says why.
        assert clerk.get(inside).status_code == 200, (key, clerk.get(inside).text[:300])
        if outside == inside:
            continue  # /web/ sends everyone to their own area
        refused = clerk.get(outside)
        assert refused.status_code == 403, (key, refused.status_code)
        assert refused.headers["content-type"].startswith("text/html")
        assert "outside your area" in refused.text
        assert analyst.get(outside).status_code == 200, key  # the analyst's area is the nation
    assert clerk.get(f"/web/units/DM?year={web.years[1]}").status_code == 403


def test_signing_in_needs_the_forms_token_and_a_local_redirect(web: Web) -> None:
    c = web.client()
    page = c.get("/web/login")
    token = form_csrf(page.text)
    good = {"username": "analyst", "password": web.users["analyst"], "csrf": token}
    # No token, another token, or another site's origin: refused, nobody signed in.
    for data, headers in (
        ({**good, "csrf": ""}, {}),
        ({**good, "csrf": "0" * 64}, {}),
        (good, {"Origin": "http://evil.example"}),
    ):
        resp = c.post("/web/login", data=data, headers=headers, follow_redirects=False)
        assert resp.status_code == 403, resp.text
        assert "emis_session" not in resp.cookies
    # A wrong password: the form again with a clear message, 401.
    wrong = c.post("/web/login", data={**good, "password": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "Unknown user or wrong password" in wrong.text
    # An open redirect is refused: a next of //host goes to the dashboard instead.
    resp = c.post("/web/login", data={**good, "next": "//evil.example/x"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/web/"
    cookie = resp.headers["set-cookie"]
    assert (
        "emis_session=" in cookie
        and "HttpOnly" in cookie
        and "SameSite=strict" in cookie.replace("Strict", "strict")
    )


def test_signing_out_revokes_the_session(web: Web) -> None:
    c = web.client("analyst")
    page = c.get(f"/web/units/DM?year={web.years[1]}")
    assert page.status_code == 200
    session = c.cookies.get("emis_session")
    assert c.post("/web/logout", data={"csrf": ""}, follow_redirects=False).status_code == 403
    out = c.post("/web/logout", data={"csrf": form_csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    again = web.client()
    again.cookies.set("emis_session", session or "")
    resp = again.get("/web/units/DM", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/web/login")


def test_a_page_of_the_dashboard_loads_nothing_from_elsewhere(web: Web) -> None:
    c = web.client("analyst")
    page = c.get(f"/web/units/DM/flow?year={web.years[1]}")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "default-src 'none'" in csp
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(r.startswith(("/", "#", "?", "data:")) for r in refs), refs
    for ref in {r for r in refs if r.startswith("/static/")}:
        assert c.get(ref).status_code == 200, ref


# ---------------------------------------------------------------- the figures


def _api_csv(web: Web, unit: str, level: str, year: int, **extra: str) -> list[list[str]]:
    params = {
        "year": str(year),
        "unit": unit,
        "level": level,
        "indicator": TILES,
        "education_level": "primary",
        "format": "csv",
        **extra,
    }
    with TestClient(web.app) as c:
        resp = c.get("/api/v1/indicators", params=params, headers=web.token("analyst"))
    assert resp.status_code == 200, resp.text
    return list(csv.reader(io.StringIO(resp.text)))


def _rows(text: str) -> set[frozenset[tuple[str, str]]]:
    """A CSV's rows as sets of (column, value), empty cells left out (a column only some rows
    fill, such as sex, is empty in the others)."""
    return {frozenset((k, v) for k, v in r.items() if v) for r in csv.DictReader(io.StringIO(text))}


def test_the_tables_csv_holds_the_apis_rows(web: Web) -> None:
    y = web.years[1]
    c = web.client("analyst")
    for unit, level in (("DM", "0,1"), ("DM-R01", "1,2")):
        resp = c.get(f"/web/units/{unit}/indicators.csv", params={"year": y})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
        api = _api_csv(web, unit, level, y)
        assert list(csv.reader(io.StringIO(resp.text))) == api  # byte for byte the API's rows
    # With the sex filter: the API's rows split by sex, plus its totals (for PTR, PCR and GPI,
    # which are not split by sex).
    resp = c.get("/web/units/DM-R01/indicators.csv", params={"year": y, "sex": "F"})
    split, total = (_api_csv(web, "DM-R01", "1,2", y, **x) for x in ({"by": "sex"}, {}))
    as_text = lambda rows: "\r\n".join(",".join(r) for r in rows)  # noqa: E731
    assert _rows(resp.text) == _rows(as_text(split)) | _rows(as_text(total))


def _tile(html: str, code: str) -> tuple[str, str]:
    found = re.search(
        rf'id="tile-{code}" data-value="([^"]*)">.*?<p class="value">([^<]*)</p>', html, re.S
    )
    assert found, f"no tile {code}"
    return found.group(1), found.group(2)


def test_the_tiles_show_the_apis_figures_with_their_parts(web: Web) -> None:
    y = web.years[1]
    c = web.client("analyst")
    html = c.get(f"/web/units/DM-R01?year={y}").text
    with TestClient(web.app) as api:
        rows = api.get(
            "/api/v1/indicators",
            params={
                "year": y,
                "unit": "DM-R01",
                "level": "1",
                "indicator": TILES,
                "education_level": "primary",
            },
            headers=web.token("analyst"),
        ).json()["rows"]
    for code in ("GER", "PTR", "PCT_REP"):
        row = next(r for r in rows if r["indicator"] == code and not r["disaggregation"])
        value, text = _tile(html, code)
        assert float(value) == pytest.approx(row["value"])
        want = f"{row['value']:.1f}" + ("%" if code != "PTR" else "")
        assert text == want
        cov = row["coverage"]
        assert f"{cov['schools_reported']} of {cov['schools_expected']} schools reporting" in _text(
            html
        )
    # The nation and the region's siblings give each tile its context.
    assert "Nation:" in _text(html) and "Other units at this level:" in _text(html)
    assert "Provisional working figures" in _text(html)


def test_french_words_and_numbers(web: Web) -> None:
    y = web.years[1]
    c = web.client("analyst")
    resp = c.get(f"/web/units/DM?year={y}&lang=fr")
    text = _text(resp.text)
    assert resp.headers["content-language"] == "fr"
    assert "Taux brut de scolarisation" in text and "Vue d'ensemble" in text
    value, shown = _tile(resp.text, "GER")
    want = f"{float(value):.1f}".replace(".", ",") + "\u00a0%"
    assert shown == want, (shown, want)
    # The choice stays: the next page without ?lang= is French too.
    assert "Flux d'élèves" in _text(c.get(f"/web/units/DM/flow?year={y}").text)


def test_a_districts_schools_add_up_to_the_district(web: Web) -> None:
    y = web.years[1]
    c = web.client("analyst")
    resp = c.get(f"/web/units/DM-R01-D001/schools.csv?year={y}")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert rows and all(r["unit"] == "DM-R01-D001" for r in rows)
    pupils = sum(int(r["pupils"]) for r in rows if r["pupils"])
    with TestClient(web.app) as api:
        agg = api.get(
            "/api/v1/aggregates",
            params={
                "year": y,
                "unit": "DM-R01-D001",
                "level": "2",
                "element": "enrolment",
                "by": "grade",
            },
            headers=web.token("analyst"),
        ).json()["rows"]
    primary = {"P1", "P2", "P3", "P4", "P5", "P6"}
    assert pupils == sum(r["value"] for r in agg if r["disaggregation"]["grade"] in primary)
    # The page lists every school with its figures, sortable by PTR.
    page = c.get(f"/web/units/DM-R01-D001?year={y}&sort=PTR&dir=desc").text
    for r in rows:
        assert f"/web/schools/{r['school']}" in page
    ptrs = [float(r["PTR"]) for r in rows if r["PTR"]]
    first = max(ptrs)
    assert f"{first:.1f}" in page.split('id="schools-table"')[1].split("</tr>")[1]


def test_the_school_page_shows_its_return(web: Web) -> None:
    y = web.years[1]
    school = _school_of(web, "DM-R01-D001")
    c = web.client("clerk")
    page = c.get(f"/web/schools/{school}?year={y}")
    assert page.status_code == 200
    with TestClient(web.app) as api:
        ret = api.get(
            f"/api/v1/returns/annual_school_census/{y}/{school}", headers=web.token("clerk")
        ).json()
    text = _text(page.text)
    assert (
        f"Revision {ret['revision']}" in text.replace("Revision ", "Revision ")
        or str(ret["revision"]) in text
    )
    assert "History" in text and "Findings" in text


def test_chart_downloads_are_the_charts_data_and_an_svg(web: Web) -> None:
    y = web.years[1]
    c = web.client("analyst")
    page = c.get(f"/web/units/DM-R01/flow?year={y}").text
    for chart in ("cohort", "survival", "rates", "profile"):
        assert f'id="spec-{chart}"' in page
        svg = c.get(f"/web/units/DM-R01/flow/charts/{chart}.svg?year={y}")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.lstrip().startswith("<svg") and "</svg>" in svg.text
    rates = list(
        csv.DictReader(io.StringIO(c.get(f"/web/units/DM-R01/flow/charts/rates.csv?year={y}").text))
    )
    with TestClient(web.app) as api:
        rows = api.get(
            "/api/v1/indicators",
            params={
                "year": y - 1,
                "unit": "DM-R01",
                "level": "1",
                "indicator": "PR",
                "education_level": "primary",
            },
            headers=web.token("analyst"),
        ).json()["rows"]
    pr = {r["disaggregation"]["grade"]: r["value"] for r in rows if r["indicator"] == "PR"}
    mine = (
        {r["grade"]: float(r["value"]) for r in rates if r["code"] == "PR"}
        if "code" in rates[0]
        else {}
    )
    got = {r["grade"]: float(r["value"]) for r in rates if r["rate"] == "Promotion"}
    assert got and all(got[g] == pytest.approx(round(pr[g], 1)) for g in got), (got, pr, mine)
    assert c.get(f"/web/units/DM-R01/flow/charts/nope.svg?year={y}").status_code == 404


def test_bad_filters_are_a_clear_error_page(web: Web) -> None:
    c = web.client("analyst")
    for q, word in (
        ("level=tertiary", "education level"),
        ("sex=X", "sex"),
        ("source=rumour", "source"),
    ):
        resp = c.get(f"/web/units/DM?{q}")
        assert resp.status_code == 422, q
        assert word in resp.text
    assert c.get("/web/units/NOPE").status_code == 404
    assert c.get("/web/units/DM?year=1").status_code == 422


def test_published_figures_carry_their_release_and_working_ones_say_provisional(
    db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    from app.core.db import make_engine
    from app.core.uow import Database, unit_of_work
    from app.review.service import set_ladder

    url = db_factory.copy(db_factory.template("web_demo", build_web_demo))
    try:
        web = Web(
            url,
            passwords(db_factory.built["web_demo"]),
            tmp_path,
            list(db_factory.built["web_demo"].years),
        )
        y = web.years[1]
        engine = make_engine(url)
        with unit_of_work(Database(engine)) as uow:
            set_ladder(uow, [0])  # the national rung only: the administrator approves
        engine.dispose()
        admin, analyst = web.token("admin"), web.token("analyst")
        with TestClient(web.app) as api:
            schools = api.get("/api/v1/schools?unit=DM-R01&limit=1000", headers=admin).json()[
                "items"
            ]
            for s in schools:
                r = api.post(
                    f"/api/v1/returns/annual_school_census/{y}/{s['code']}/approve",
                    json={},
                    headers=admin,
                )
                assert r.status_code in (200, 404, 409), r.text
            made = api.post(
                "/api/v1/releases",
                json={"form": "annual_school_census", "year": y},
                headers=analyst,
            )
            assert made.status_code == 201, made.text
            release = api.get(f"/api/v1/releases/{made.json()['id']}", headers=analyst).json()
        c = web.client("analyst")
        working = _text(c.get(f"/web/units/DM?year={y}").text)
        assert "Provisional working figures" in working
        assert f"Latest release for {y}: no. 1" in working
        html = c.get(f"/web/units/DM?year={y}&source=release").text
        assert "Published figures: release no. 1" in _text(html)
        (ger,) = [
            r
            for r in release["indicators"]
            if r["unit"] == "DM"
            and r["indicator"] == "GER"
            and r["education_level"] == "primary"
            and not r["disaggregation"]
        ]
        value, shown = _tile(html, "GER")
        assert float(value) == pytest.approx(ger["value"]) and shown == f"{ger['value']:.1f}%"
        # Only DM-R01 was approved: the published GER counts its schools alone.
        cov = ger["coverage"]
        assert cov["schools_reported"] < 0.8 * cov["schools_expected"]
        # …so the tile is greyed and says why.
        assert re.search(r'class="tile greyed\s*" id="tile-GER"', html)
        assert "Greyed: only" in _text(html)
    finally:
        db_factory.drop(url)


def test_completeness_page_holds_the_apis_counts_and_missing_schools(web: Web) -> None:
    y = web.years[1]
    new = {"name": "École Nouvelle", "unit": "DM-R01-D002", "ownership": "public",
           "locality": "rural", "levels": ["primary"], "status": "open"}  # fmt: skip
    with TestClient(web.app) as api:
        made = api.put("/api/v1/schools/DM-990777", json=new, headers=web.token("admin"))
        assert made.status_code in (200, 201), made.text  # opened, no return yet
        rows = api.get(
            "/api/v1/completeness",
            params={"year": y, "level": "2", "unit": "DM-R01", "missing": "true"},
            headers=web.token("analyst"),
        ).json()
    rows = rows["rows"] if isinstance(rows, dict) else rows
    html = web.client("analyst").get(f"/web/units/DM-R01/completeness?year={y}").text
    table = html.split('id="completeness-table"')[1].split("</table>")[0]
    for r in rows:
        cells = re.search(rf">{re.escape(r['unit_name'])}</a></th>(.*?)</tr>", table, re.S)
        assert cells, r["unit_name"]
        nums = re.findall(r'<td class="num">([^<]*)</td>', cells.group(1))
        assert nums[:5] == [
            str(r[k]) for k in ("expected", "received", "approved", "late", "excused")
        ]
    missing = {m for r in rows for m in r["missing"]}
    shown = (
        set(re.findall(r"<td>(DM-\d+)</td>", html.split("missing-table")[1])) if missing else set()
    )
    assert shown == missing


HOSTILE = [
    "/web/units/DM?year=abc", "/web/units/DM?year=99999999999999999999", "/web/units/DM?sort=%00",
    "/web/units/DM?dir=sideways", "/web/units/DM?sort=GER&dir=desc&level=primary&sex=F&ownership=public&locality=urban",
    "/web/units/DM?ownership=%3Cscript%3E", "/web/units/DM?lang=xx", "/web/units/DM?lang=%FF%FE",
    "/web/units/" + "A" * 300, "/web/units/%E2%80%AE", "/web/units/DM/flow?level=pre_primary",
    "/web/units/DM/flow?level=upper_secondary&sex=M", "/web/units/DM/resources?locality=rural",
    "/web/units/DM/nowhere/charts/x.svg", "/web/units/DM/overview/charts/..%2F..%2Fetc.svg",
    "/web/units/DM/overview/charts/ger-children.csv?year=1900", "/web/schools/DM-999999",
    "/web/schools/%27%22%3C%3E", "/web/units/DM/completeness?year=2999", "/web/login?next=javascript:alert(1)",
    "/web/units/DM?source=release", "/web/units/DM-R01-D001/flow", "/web/units/DM-R01-D001/resources",
]  # fmt: skip


def test_no_page_answers_500_to_what_a_browser_can_send(web: Web) -> None:
    c = web.client("analyst")
    for url in HOSTILE:
        resp = c.get(url)
        assert resp.status_code < 500, (url, resp.status_code, resp.text[:300])
        if resp.status_code >= 400:
            assert "Traceback" not in resp.text
    login = c.get("/web/login?next=javascript:alert(1)")
    assert 'value="/web/"' in login.text  # the redirect after sign-in stays on this site


def _dots(html: str) -> list[tuple[str, int, int]]:
    """The allocation chart's dots: (school, pupils, teachers)."""
    spec = json.loads(html.split('id="spec-allocation">')[1].split("</script>")[0])
    return sorted((p["school"], p["pupils"], p["teachers"]) for p in spec["data"]["values"])


def test_the_allocation_chart_has_a_dot_per_public_school_and_follows_the_registry(
    web: Web,
) -> None:
    y = web.years[1]
    c = web.client("analyst")
    page = f"/web/units/DM-R01/resources?year={y}"

    def public() -> list[dict[str, str]]:
        rows = csv.DictReader(io.StringIO(c.get(f"/web/units/DM-R01/schools.csv?year={y}").text))
        return [r for r in rows if r["ownership"] == "public" and r["pupils"] and r["teachers"]
                and int(r["pupils"]) and int(r["teachers"])]  # fmt: skip

    rows = public()
    assert len(rows) >= 5
    html = c.get(page).text
    assert _dots(html) == sorted(
        (r["school_name"], int(r["pupils"]), int(r["teachers"])) for r in rows
    )
    xs, ys = [int(r["pupils"]) for r in rows], [int(r["teachers"]) for r in rows]
    r2 = statistics.correlation(xs, ys) ** 2
    assert f"R² = {r2:.2f}" in _text(html)
    # The registry makes one of them private: the next page has one dot fewer, at once.
    code = rows[0]["school"]
    admin = web.token("admin")
    with TestClient(web.app) as api:
        school = api.get(f"/api/v1/schools/{code}", headers=admin).json()
        body = {k: school[k] for k in ("name", "unit", "locality", "levels", "status")}
        assert api.put(f"/api/v1/schools/{code}", json={**body, "ownership": "private"},
                       headers=admin).status_code == 200  # fmt: skip
        try:
            after = _dots(c.get(page).text)
            assert len(after) == len(rows) - 1
            assert after == sorted((r["school_name"], int(r["pupils"]), int(r["teachers"]))
                                   for r in rows[1:])  # fmt: skip
        finally:
            put = api.put(
                f"/api/v1/schools/{code}", json={**body, "ownership": "public"}, headers=admin
            )
            assert put.status_code == 200
    assert _dots(c.get(page).text) == _dots(html)
