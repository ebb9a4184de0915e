"""The indicators and aggregates endpoints as a user meets them: definitions, CSV, areas, errors."""

import csv
import io
from typing import Any

from tests.indicators.test_hand_country import api, rows  # noqa: F401  # the fixture

FORM = "mini_census"


def test_definitions_in_english_and_french(api: Any) -> None:  # noqa: F811
    c, _h, _ = api
    en = c.get("/api/v1/indicators/definitions").json()
    fr = c.get("/api/v1/indicators/definitions", headers={"Accept-Language": "fr"}).json()
    codes = {d["code"] for d in en["definitions"]}
    assert {"GER", "NER", "RR", "PCT_REP", "SR_LAST", "CE", "YIG", "PTR", "GPIA"} <= codes
    rr_en = next(d for d in en["definitions"] if d["code"] == "RR")
    rr_fr = next(d for d in fr["definitions"] if d["code"] == "RR")
    assert "t+1" in rr_en["formula"] and rr_fr["name"].lower().startswith("taux de redoublement")
    assert rr_en["interpretation"] != rr_fr["interpretation"]
    # OpenAPI documents every code with its formula.
    doc = c.get("/openapi.json").json()["paths"]["/api/v1/indicators"]["get"]["description"]
    for code in ("GER", "PR", "SR_LAST", "FAC_ELECTRICITY"):
        assert f"`{code}`" in doc


def test_csv_has_the_same_rows(api: Any) -> None:  # noqa: F811
    c, h, _ = api
    params = {"form": FORM, "year": 2024, "level": "2", "indicator": "GER,PR"}
    data = rows(api, **params)
    resp = c.get("/api/v1/indicators", params=params, headers={**h, "Accept": "text/csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(table) == len(data)
    first = next(r for r in table if r["indicator"] == "GER" and r["unit"] == "DM-R01-D001")
    assert float(first["value"]) == 50 and first["numerator"] == "360"
    assert {"base_year", "outcome_year", "grade", "schools_expected"} <= set(table[0])
    agg = c.get(
        "/api/v1/aggregates",
        params={"form": FORM, "year": 2024, "element": "enrolment", "by": "sex", "format": "csv"},
        headers=h,
    )
    assert agg.status_code == 200
    assert [r["sex"] for r in csv.DictReader(io.StringIO(agg.text))] == ["F", "M"]


def test_bad_queries_are_named_problems(api: Any) -> None:  # noqa: F811
    c, h, _ = api
    cases = {
        "indicator": {"year": 2024, "indicator": "GER,NOPE"},
        "level": {"year": 2024, "level": "x"},
        "by": {"year": 2024, "by": "colour"},
        "status": {"year": 2024, "status": "lost"},
        "unit": {"year": 2024, "unit": "NOWHERE"},
    }
    for field, params in cases.items():
        resp = c.get("/api/v1/indicators", params={"form": FORM, **params}, headers=h)
        assert resp.status_code == 422, (field, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["errors"][0]["path"] == f"query.{field}"
    resp = c.get(
        "/api/v1/indicators",
        params={"form": FORM, "year": 2024, "unit": "DM-R01-D001", "level": "1"},
        headers=h,
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["code"] == "LEVEL_ABOVE_UNIT"
    resp = c.get(
        "/api/v1/aggregates",
        params={"form": FORM, "year": 2024, "element": "enrolment", "by": "subject"},
        headers=h,
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["path"] == "query.by"
    assert c.get("/api/v1/indicators", params={"year": 2024}).status_code == 401


def test_area_is_enforced(demo: Any) -> None:
    c = demo.client
    clerk = demo.auth("clerk")  # district DM-R01-D001
    year = demo.result.years[0]
    own = c.get("/api/v1/indicators", params={"year": year, "level": "2"}, headers=clerk)
    assert own.status_code == 200
    assert {r["unit"] for r in own.json()["rows"]} == {"DM-R01-D001"}
    assert (
        c.get(
            "/api/v1/indicators",
            params={"year": year, "unit": "DM-R01-D002", "level": "2"},
            headers=clerk,
        ).status_code
        == 403
    )
    assert (
        c.get(
            "/api/v1/aggregates",
            params={"year": year, "element": "enrolment", "unit": "DM"},
            headers=clerk,
        ).status_code
        == 403
    )
    # A clerk cannot read the nation's figures through level 0 either.
    assert (
        c.get("/api/v1/indicators", params={"year": year, "level": "0"}, headers=clerk).status_code
        == 403
    )


def test_answers_in_the_coding_the_client_accepts(api: Any) -> None:  # noqa: F811
    """A browser (zstd, gzip), an old client (gzip), one refusing zstd (q=0) and one asking for
    nothing get the same table, each in the coding it can read and saying so."""
    import gzip

    import orjson
    import zstandard

    c, h, _ = api
    params = {"form": FORM, "year": 2024, "level": "2", "indicator": "GER,PR,RR"}
    unpack = {
        "zstd": lambda b: zstandard.ZstdDecompressor().decompress(b),
        "gzip": gzip.decompress,
        None: lambda b: b,
    }
    cases = {
        "gzip, deflate, br, zstd": "zstd",
        "gzip": "gzip",
        "zstd;q=0, gzip;q=0.8": "gzip",
        "gzip;q=0.5, zstd;q=0.9": "zstd",
        "identity": None,
        "*": "zstd",
    }
    bodies = []
    for header, coding in cases.items():
        with c.stream(
            "GET", "/api/v1/indicators", params=params, headers={**h, "Accept-Encoding": header}
        ) as resp:
            assert resp.status_code == 200
            raw = b"".join(resp.iter_raw())
        assert resp.headers.get("content-encoding") == coding, header
        assert "accept-encoding" in resp.headers["vary"].lower()
        bodies.append(orjson.loads(unpack[coding](raw)))
    assert bodies[0]["rows"] and all(b == bodies[0] for b in bodies)
