"""The diagnosis report (issue 13): its PDF prints the API's figures (GER, survival to the last
grade, pupils per teacher) in English and French, under its five numbered sections; the CLI
writes the same document; a clerk gets only their own area; and the sentences and consistency
warnings follow from the rows, checked on hand-made ones."""

import base64
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import app as cli
from app.core.config import get_settings
from app.main import create_app
from app.web import charts
from app.web import report as rp
from app.web.text import Words
from tests.conftest import DatabaseFactory, make_settings, passwords
from tests.web.helpers import build_web_demo, web_login

REGION = "DM-R01"
HEADINGS = {
    "en": ["1. Data note", "2. Access", "3. Internal efficiency", "4. Resources", "5. Equity"],
    "fr": [
        "1. Note sur les données",
        "2. Accès",
        "3. Efficacité interne",
        "4. Ressources",
        "5. Équité",
    ],
}
NAMES = {  # how the report's sentences name the three figures
    "en": {"GER": "GER", "SR_LAST": "Survival to the last grade", "PTR": "PTR"},
    "fr": {"GER": "TBS", "SR_LAST": "Survie jusqu'à la dernière année", "PTR": "REM"},
}

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils (pdftotext, pdfinfo) is not installed",
)


class Site:
    def __init__(self, url: str, users: dict[str, str], tmp: Path, years: list[int]) -> None:
        self.url, self.users, self.tmp, self.years = url, users, tmp, years
        self.app = create_app(make_settings(url, tmp))
        self.year = years[-1]

    def client(self, who: str) -> TestClient:
        c = TestClient(self.app)
        resp = web_login(c, who, self.users[who])
        assert resp.status_code == 303, resp.text
        return c

    def api(self, **params: Any) -> list[dict[str, Any]]:
        with TestClient(self.app) as c:
            tok = c.post(
                "/api/v1/auth/token",
                data={"username": "analyst", "password": self.users["analyst"]},
            )
            assert tok.status_code == 200, tok.text
            resp = c.get(
                "/api/v1/indicators",
                params=params,
                headers={"Authorization": f"Bearer {tok.json()['access_token']}"},
            )
        assert resp.status_code == 200, resp.text
        rows: list[dict[str, Any]] = resp.json()["rows"]
        return rows


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, db_factory: DatabaseFactory) -> Iterator[Site]:
    url = db_factory.copy(db_factory.template("web_demo", build_web_demo))
    result = db_factory.built["web_demo"]
    yield Site(url, passwords(result), tmp_path_factory.mktemp("report"), list(result.years))
    db_factory.drop(url)


def _plain(text: str) -> str:
    """Words with every run of spaces (no-break ones, line and page breaks too) made one."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


def pdf_text(pdf: bytes, tmp: Path) -> tuple[str, int]:
    """The PDF's text (pdftotext) and its number of pages (pdfinfo)."""
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    ).stdout.decode()
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True).stdout
    pages = int(re.search(rb"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert text.count("\f") == pages  # pdftotext ends every page with a form feed
    return text, pages


def _formatted(value: float, lang: str, percent: bool) -> str:
    """The API's value with one decimal, as the language writes it (no-break spaces made
    plain)."""
    text = f"{value:.1f}"
    if lang == "fr":
        text = text.replace(".", ",")
    if percent:
        text += " %" if lang == "fr" else "%"
    return text


def _api_figures(site: Site) -> dict[str, float]:
    """GER and PTR of the region for the year, and survival to the last grade of the cohort
    whose base year is the year before (so its outcome year is the report's year)."""
    y = site.year
    common = {"level": "1", "unit": REGION, "education_level": "primary"}
    rows = site.api(year=str(y), indicator="GER,PTR", **common)
    rows += site.api(year=str(y - 1), indicator="SR_LAST", **common)
    found = {
        r["indicator"]: r["value"]
        for r in rows
        if r["unit"] == REGION and not r["disaggregation"] and r["value"] is not None
    }
    assert set(found) == {"GER", "PTR", "SR_LAST"}, rows
    return found


@needs_poppler
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_pdf_prints_the_apis_figures_under_the_five_sections(
    site: Site, lang: str, tmp_path: Path
) -> None:
    api = _api_figures(site)
    c = site.client("analyst")
    resp = c.get(
        f"/reports/diagnosis/{REGION}", params={"year": site.year, "format": "pdf", "lang": lang}
    )
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"] == "application/pdf"
    assert f"diagnosis-{REGION}-{site.year}-{lang}.pdf" in resp.headers["content-disposition"]
    assert resp.headers["content-language"] == lang
    text, pages = pdf_text(resp.content, tmp_path)
    plain = _plain(text)
    names = NAMES[lang]
    for code, percent in (("GER", True), ("SR_LAST", True), ("PTR", False)):
        printed = f"{names[code]} {_formatted(api[code], lang, percent)}"
        assert printed in plain, (code, printed)
    # Each section starts a page, numbered, in the report's language.
    positions = [plain.find(h) for h in HEADINGS[lang]]
    assert all(p >= 0 for p in positions), positions
    assert positions == sorted(positions)
    assert pages >= 5
    other = "fr" if lang == "en" else "en"
    assert HEADINGS[other][4] not in plain
    # The region set beside the nation, both flow years named.
    beside = "national figure" if lang == "en" else "chiffre national"
    assert beside in plain
    base = "base year" if lang == "en" else "année de base"
    assert f"{base} {site.year - 1}" in plain
    if lang == "fr":  # French numbers: a decimal comma and a space before the sign
        assert re.search(r"\d,\d %", plain)
        assert not re.search(r"\d\.\d%", plain)


@needs_poppler
def test_the_cli_writes_the_same_pdf(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = site.client("analyst")
    served = c.get(f"/reports/diagnosis/{REGION}", params={"year": site.year, "format": "pdf"})
    assert served.status_code == 200
    monkeypatch.setenv("EMIS_DATABASE_URL", site.url)
    get_settings.cache_clear()
    out = tmp_path / "diagnosis.pdf"
    try:
        args = ["report", "diagnosis", "--unit", REGION, "--year", str(site.year)]
        result = CliRunner().invoke(cli, [*args, "--out", str(out), "--as", "analyst"])
        assert result.exit_code == 0, result.output
        assert "Wrote" in result.stdout
        unknown = CliRunner().invoke(
            cli, ["report", "diagnosis", "--unit", "DM-R99", "--out", str(tmp_path / "x.pdf")]
        )
    finally:
        get_settings.cache_clear()
    (tmp_path / "cli").mkdir()
    cli_text, cli_pages = pdf_text(out.read_bytes(), tmp_path / "cli")
    web_text, web_pages = pdf_text(served.content, tmp_path)
    assert _plain(cli_text) == _plain(web_text)
    assert cli_pages == web_pages
    # An unknown unit: a plain message and exit 1, no file.
    assert unknown.exit_code == 1
    assert "DM-R99" in unknown.output
    assert not (tmp_path / "x.pdf").exists()


def test_a_clerk_gets_only_their_own_district(site: Site) -> None:
    clerk = site.client("clerk")  # area DM-R01-D001
    own = clerk.get("/reports/diagnosis/DM-R01-D001", params={"year": site.year})
    assert own.status_code == 200
    assert own.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in own.headers["content-security-policy"]
    page = _plain(re.sub(r"<[^>]+>", " ", own.text))
    for heading in HEADINGS["en"]:
        assert heading in page
    assert "outside your area" in page  # the nation is: no comparison, said so
    # Every image is a data: URL; the page loads nothing.
    assert re.findall(r'<img src="data:image/svg\+xml;base64,', own.text)
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', own.text)
    for fmt in ("html", "pdf"):
        refused = clerk.get(
            "/reports/diagnosis/DM-R01-D002", params={"year": site.year, "format": fmt}
        )
        assert refused.status_code == 403, fmt
        assert refused.headers["content-type"].startswith("text/html")
        assert "outside your area" in refused.text
    missing = clerk.get("/reports/diagnosis/DM-R99", params={"year": site.year})
    assert missing.status_code == 404
    bad = clerk.get("/reports/diagnosis/DM-R01-D001", params={"format": "docx"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    anonymous = TestClient(site.app).get("/reports/diagnosis/DM-R01", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/web/login?next=%2Freports%2Fdiagnosis")


# ---------------------------------------------------------------- the pure functions


def _nb(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_the_sentences_set_the_unit_beside_the_nation() -> None:
    en, fr = Words("en"), Words("fr")
    assert rp.compare(en, "GIR", 92.0, 98.0) == (
        "GIR 92.0%, 6.0 points below the national figure (98.0%)."
    )
    assert _nb(rp.compare(fr, "GIR", 92.0, 98.0)) == (
        "TBA 92,0 %, 6,0 points en dessous du chiffre national (98,0 %)."
    )
    assert rp.compare(en, "GER", 104.26, 99.0) == (
        "GER 104.3%, 5.3 points above the national figure (99.0%)."
    )
    # The gap is between the printed figures: 62.1 − 60.0, not 62.06 − 60.04.
    assert rp.compare(en, "NER", 62.06, 60.04).startswith("NER 62.1%, 2.1 points above")
    # Ratios and indices: no "points"; indices with two decimals.
    assert rp.compare(en, "PTR", 41.2, 38.0) == "PTR 41.2, 3.2 above the national figure (38.0)."
    assert rp.compare(en, "PTR", 35.0, 38.5) == "PTR 35.0, 3.5 below the national figure (38.5)."
    assert _nb(rp.compare(fr, "GPI_GER", 0.91, 0.97)) == (
        "IPS du TBS 0,91, 0,06 en dessous du chiffre national (0,97)."
    )
    assert rp.compare(en, "GER", 70.01, 69.99) == ("GER 70.0%, the same as the national figure.")
    assert rp.compare(en, "GER", 70.0, None) == "GER 70.0%."
    assert rp.compare(en, "GER", None, 70.0) == "GER: no value."


def _rate(code: str, grade: str, value: float, unit: str = "Nord") -> dict[str, Any]:
    return {
        "unit": "X",
        "unit_name": unit,
        "level": 1,
        "indicator": code,
        "education_level": "primary",
        "disaggregation": {"grade": grade},
        "value": value,
    }


def test_the_warnings_name_rates_that_cannot_be_true() -> None:
    w = Words("en")
    grades = ("P1", "P2", "P3")
    rows = [
        _rate("PR", "P1", 90.0),
        _rate("DR", "P1", 3.0),
        _rate("PR", "P2", 104.0),
        _rate("DR", "P2", 1.0),
        _rate("DR", "P3", -2.0, unit="Lema"),
        _rate("DR", "P3", -0.04),  # prints as -0.0: no warning
        {**_rate("DR", "P1", -9.0), "disaggregation": {"grade": "P1", "sex": "F"}},  # a split
    ]
    found = rp.flow_warnings(w, rows, grades, 2025, 2026)
    assert len(found) == 2, found
    # By unit (higher levels first, then by name), then grade.
    assert found[0].startswith("Lema: the dropout rate of grade P3 is -2.0%")
    assert found[1].startswith("Nord: the promotion rate of grade P2 is 104.0%")
    assert "base year 2025 → outcome year 2026" in found[1]
    assert rp.flow_warnings(w, rows[:2], grades, 2025, 2026) == []
    fr = rp.flow_warnings(Words("fr"), rows, grades, 2025, 2026)
    assert _nb(fr[0]).startswith("Lema : le taux d'abandon de la classe P3 vaut -2,0 %")


def test_a_ger_jump_without_enrolment_change_is_a_warning() -> None:
    w = Words("en")
    steady = [
        {"year": 2024, "enrolment": 10_000, "ger": 61.0},
        {"year": 2025, "enrolment": 10_200, "ger": 80.0},  # +19 points, enrolment +2 %
        {"year": 2026, "enrolment": 10_300, "ger": 81.0},
    ]
    found = rp.trend_warnings(w, "Nord", steady)
    assert len(found) == 1
    assert found[0].startswith("Nord: the GER moved 19.0 points between 2024 and 2025")
    assert "10,000 → 10,200" in found[0] and "2.0%" in found[0]
    grew = [
        {"year": 2024, "enrolment": 10_000, "ger": 61.0},
        {"year": 2025, "enrolment": 13_000, "ger": 80.0},  # enrolment moved too: believable
    ]
    assert rp.trend_warnings(w, "Nord", grew) == []
    gap = [  # years not consecutive, or a year without GER: nothing compared
        {"year": 2022, "enrolment": 10_000, "ger": 40.0},
        {"year": 2024, "enrolment": 10_000, "ger": 80.0},
        {"year": 2025, "enrolment": 10_000, "ger": None},
    ]
    assert rp.trend_warnings(w, "Nord", gap) == []


def test_the_release_is_named_or_the_figures_called_provisional() -> None:
    release = SimpleNamespace(number=3, created_at=datetime(2026, 11, 5, 14, 0, tzinfo=UTC))
    en = rp.release_note(Words("en"), release, 2026)
    assert en.startswith("Latest release for 2026: no. 3 of November 5, 2026.")
    fr = _nb(rp.release_note(Words("fr"), release, 2026))
    assert fr.startswith("Dernière publication pour 2026 : n° 3 du 5 novembre 2026.")
    assert "provisional working figures" in rp.release_note(Words("en"), None, 2026)


def test_coverage_ranking_and_sampling() -> None:
    w = Words("en")
    rows = [
        {"unit_name": "Lema", "reporting_rate": 72.5},
        {"unit_name": "Vika", "reporting_rate": 80.0},
        {"unit_name": "Nobody", "reporting_rate": None},
    ]
    found = rp.coverage_warnings(w, rows, 2026)
    assert len(found) == 1 and found[0].startswith("Lema: only 72.5% of the expected schools")
    ranked, ratio = rp.ranking([("A", 50.0), ("B", None), ("C", 100.0), ("D", 80.0)])
    assert ranked == [("C", 100.0), ("D", 80.0), ("A", 50.0)] and ratio == 2.0
    assert rp.ranking([("A", 50.0)]) == ([("A", 50.0)], None)
    assert rp.ranking([("A", 50.0), ("B", 0.0)])[1] is None
    points = [{"pupils": i} for i in range(10_000)]
    drawn = charts.sample_evenly(points, "pupils", 500)
    assert len(drawn) == 500 and drawn[0]["pupils"] == 0 and drawn[-1]["pupils"] == 9_999
    assert charts.sample_evenly(points[:10], "pupils", 500) == points[:10]


def test_the_allocation_line_is_the_least_squares_fit() -> None:
    import random
    import statistics

    def fit(pts: list[tuple[int, int]]) -> tuple[float, float, float] | None:
        return charts.fit_from_sums(
            len(pts),
            sum(x for x, _ in pts),
            sum(y for _, y in pts),
            sum(x * x for x, _ in pts),
            sum(y * y for _, y in pts),
            sum(x * y for x, y in pts),
        )

    # By hand: (0,1) (1,3) (2,5) lie on y = 1 + 2x, so R² = 1.
    assert fit([(0, 1), (1, 3), (2, 5)]) == pytest.approx((1.0, 2.0, 1.0))
    # Against the standard library on 14,000 schools' worth of pupils and teachers.
    rng = random.Random(7)
    pts = [
        (p, max(1, round(p / 35 + rng.gauss(0, 3))))
        for p in (rng.randint(40, 1500) for _ in range(14_000))
    ]
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    slope, intercept = statistics.linear_regression(xs, ys)
    a, b, r2 = fit(pts)  # type: ignore[misc]
    assert (a, b, r2) == pytest.approx(
        (intercept, slope, statistics.correlation(xs, ys) ** 2), rel=1e-9
    )
    # No spread, or too few schools: no line.
    assert fit([(10, 2), (10, 3), (10, 4)]) is None and fit([(1, 1), (2, 2)]) is None


@needs_poppler
def test_the_pdf_fetches_nothing_but_data_urls(tmp_path: Path) -> None:
    from app.web.reports import report_pdf

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40">'
        '<text x="5" y="25" font-size="16">{word}</text></svg>'
    )
    (tmp_path / "local.svg").write_text(svg.format(word="LOCALFILE"))
    inline = base64.b64encode(svg.format(word="INLINEDATA").encode()).decode()
    html = (
        f'<p>Body</p><img src="{(tmp_path / "local.svg").as_uri()}">'
        f'<img src="data:image/svg+xml;base64,{inline}">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
    )
    text, _pages = pdf_text(report_pdf(html), tmp_path)
    assert "Body" in text and "INLINEDATA" in text
    assert "LOCALFILE" not in text


def test_the_server_warms_the_pdf_renderers_at_start_up(settings: Any) -> None:
    """A fresh server loads WeasyPrint, its fonts and vl-convert in the background, so the
    first report does not wait for them (off in the other tests: EMIS_WARM_RENDERERS=0)."""
    assert settings.warm_renderers is False  # the suite's default, from the environment
    app = create_app(settings.model_copy(update={"warm_renderers": True}))
    with TestClient(app):
        done = app.state.renderers_warm
        assert done.wait(120), "the renderers' warm-up did not finish in 2 minutes"
    off = create_app(settings)
    with TestClient(off):
        assert not hasattr(off.state, "renderers_warm")
