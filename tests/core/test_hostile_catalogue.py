"""A catalogue of hostile inputs, one test id each, across every endpoint that takes input.

Each request must get the specific 4xx it deserves as problem+json whose type names the problem
(and whose `errors` name the field where there is one); the server stays up (GET /health is 200
afterwards) and the database is exactly what it was: every row of every table is compared. One
demo database serves the whole module (the cases change nothing, which is what they prove);
tokens are made once, before the first dump, as logging in stores a session token.

Push items that are bad on their own are not a failed request: the push answers 200 with that
item `rejected` and the field named (API.md: each item stands alone). Those cases are in the
second catalogue; the only row they may change is the device's `last_push_at` (the server notes
that the device pushed), which the comparison leaves out for them."""

import gzip
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select

from app.core.db import make_engine
from app.main import create_app
from tests.conftest import DatabaseFactory, _build_demo, make_settings
from tests.conftest import passwords as conftest_passwords
from tests.sync.helpers import FORM, good_values

MIB = 1024 * 1024
PUSH_MAX = 8 * MIB  # Settings.sync_max_bytes
SCHOOL = "DM-000001"


@dataclass
class Env:
    client: TestClient
    engine: Engine
    tokens: dict[str, str]
    school: str  # a school of the clerk's area
    year: int  # a year whose census window is open


@pytest.fixture(scope="module")
def env(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:

    url = db_factory.copy(db_factory.template("demo", _build_demo))
    engine = make_engine(url)
    result = db_factory.built["demo"]  # the template's build: the users and their passwords
    passwords = conftest_passwords(result)
    settings = make_settings(url, tmp_path_factory.mktemp("hostile"))
    with TestClient(create_app(settings)) as client:
        tokens = {}
        for user in ("admin", "clerk"):
            resp = client.post(
                "/api/v1/auth/token", data={"username": user, "password": passwords[user]}
            )
            tokens[user] = resp.json()["access_token"]
        # The clerk's device is known before the first dump (a push notes its time).
        client.post(
            "/api/v1/sync/push",
            json={"device_id": "laptop-1", "items": []},
            headers={"Authorization": f"Bearer {tokens['clerk']}"},
        )
        schools = client.get(
            "/api/v1/schools?limit=5", headers={"Authorization": f"Bearer {tokens['clerk']}"}
        ).json()["items"]
        yield Env(client, engine, tokens, schools[0]["code"], result.years[1])
    engine.dispose()
    db_factory.drop(url)


_TABLES: dict[str, MetaData] = {}


def dump(engine: Engine, leave_out: Callable[[str, str], bool] = lambda t, c: False) -> Any:
    """Every row of every table (alembic's version too), in a stable order."""
    key = engine.url.render_as_string()
    if key not in _TABLES:  # reflected once: the schema does not change within the module
        _TABLES[key] = MetaData()
        _TABLES[key].reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in sorted(_TABLES[key].tables.items()):
            cols = [c for c in table.columns if not leave_out(name, c.name)]
            rows = conn.execute(select(*cols)).all()
            out[name] = sorted(repr(tuple(r)) for r in rows)
    return out


# ------------------------------------------------------------------ building requests


@dataclass
class Case:
    method: str
    url: str
    status: int
    type: str  # the problem type's last segment
    path: str | None = None  # a field path some error must name (prefix match)
    user: str | None = "admin"
    json: Any = None  # sent as JSON (json.dumps, so NaN etc. pass through)
    body: bytes | Callable[[], bytes] | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    form: dict[str, str] | None = None
    stream: bool = False  # send the body in chunks without Content-Length


def J(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def school_body(**change: Any) -> dict[str, Any]:
    return {
        "name": "École",
        "unit": "DM-R01-D001",
        "ownership": "public",
        "levels": ["primary"],
        **change,
    }


def year_body(**change: Any) -> dict[str, Any]:
    return {
        "label": "2031/32",
        "reference_date": "2031-11-15",
        "window_opens": "2031-11-01T00:00:00Z",
        "window_closes": "2032-03-31T23:59:59Z",
        **change,
    }


def unit_body(**change: Any) -> dict[str, Any]:
    return {"name": "Somewhere", "level_name": "district", "parent": "DM-R01", **change}


def level_body(**change: Any) -> dict[str, Any]:
    return {
        "name": "Primary",
        "sequence": 1,
        "entrance_age": 6,
        "duration": 2,
        "grades": ["P1", "P2"],
        **change,
    }


def pop_row(**change: Any) -> dict[str, Any]:
    return {"unit": "DM-R01", "year": 2025, "age": 6, "sex": "F", "value": 10, **change}


def push_body(device: Any = "laptop-1", items: Any = None, **extra: Any) -> dict[str, Any]:
    return {"device_id": device, "items": [] if items is None else items, **extra}


def bomb(size: int) -> Callable[[], bytes]:
    """gzip of `size` zero bytes: a few KB that inflate far past the cap."""
    return lambda: gzip.compress(b"\0" * size, compresslevel=9)


def deep(n: int) -> bytes:
    return b'{"device_id": "d", "items": [' + b"[" * n + b"]" * n + b"]}"


PUT_SCHOOL = f"/api/v1/schools/{SCHOOL}"
PUT_YEAR = "/api/v1/school-years/2031"
PUT_UNIT = "/api/v1/admin-units/DM-R01-D999"
PUT_LEVEL = "/api/v1/education-levels/primary"
PUT_POP = "/api/v1/population"
PUSH = "/api/v1/sync/push"
GZ = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
CT_JSON = {"Content-Type": "application/json"}
RTL, ZWSP, LRI = "\u202e", "\u200b", "\u2066"
HYPERLINK = '=HYPERLINK("http://evil.example/","x")'


def big_json(n: int) -> bytes:
    return J(school_body(name="x" * n))


CASES: dict[str, Case] = {
    # ---- bodies over the cap, before auth and parsing
    "put-population-2mib-no-token": Case(
        "PUT", PUT_POP, 413, "payload-too-large", "body", user=None, body=b" " * (2 * MIB)
    ),
    "put-school-2mib": Case("PUT", PUT_SCHOOL, 413, "payload-too-large", body=big_json(2 * MIB)),
    "put-school-streamed-2mib": Case(
        "PUT", PUT_SCHOOL, 413, "payload-too-large", body=big_json(2 * MIB), stream=True
    ),
    "push-9mib": Case(
        "POST", PUSH, 413, "payload-too-large", user="clerk", body=b" " * (PUSH_MAX + 1)
    ),
    "push-gzip-bomb": Case(
        "POST", PUSH, 413, "payload-too-large", user="clerk", body=bomb(20 * MIB), headers=GZ
    ),
    "put-year-gzip-bomb": Case(
        "PUT", PUT_YEAR, 413, "payload-too-large", body=bomb(4 * MIB), headers=GZ
    ),
    "put-population-100001-rows": Case(
        "PUT", PUT_POP, 413, "payload-too-large", json={"rows": [pop_row()] * 100_001}
    ),
    "put-school-5mb-attributes": Case(
        "PUT",
        PUT_SCHOOL,
        413,
        "payload-too-large",
        json=school_body(attributes={"x": "y" * (5 * MIB)}),
    ),
    # ---- encodings and content types
    "push-content-encoding-br": Case(
        "POST",
        PUSH,
        415,
        "unsupported-media-type",
        "header.content-encoding",
        user="clerk",
        body=J(push_body()),
        headers={"Content-Encoding": "br", **CT_JSON},
    ),
    "put-school-content-encoding-deflate": Case(
        "PUT",
        PUT_SCHOOL,
        415,
        "unsupported-media-type",
        "header.content-encoding",
        body=J(school_body()),
        headers={"Content-Encoding": "deflate", **CT_JSON},
    ),
    "push-not-gzip": Case(
        "POST", PUSH, 400, "malformed-body", "body", user="clerk", body=b"nope", headers=GZ
    ),
    "push-gzip-cut-short": Case(
        "POST",
        PUSH,
        400,
        "malformed-body",
        "body",
        user="clerk",
        body=gzip.compress(J(push_body()))[:-12],
        headers=GZ,
    ),
    "push-gzip-then-garbage": Case(
        "POST",
        PUSH,
        400,
        "malformed-body",
        "body",
        user="clerk",
        body=gzip.compress(J(push_body())) + b"garbage!",
        headers=GZ,
    ),
    "put-school-gzip-two-members-bad-json": Case(
        # both members are read: the second makes the body bad JSON, not silently dropped
        "PUT",
        PUT_SCHOOL,
        400,
        "malformed-json",
        "body",
        body=gzip.compress(J(school_body())) + gzip.compress(b'{"x": 1}'),
        headers=GZ,
    ),
    "push-text-plain": Case(
        "POST",
        PUSH,
        415,
        "unsupported-media-type",
        "header.content-type",
        user="clerk",
        body=J(push_body()),
        headers={"Content-Type": "text/plain"},
    ),
    "push-no-content-type": Case(
        "POST",
        PUSH,
        415,
        "unsupported-media-type",
        "header.content-type",
        user="clerk",
        body=J(push_body()),
    ),
    "push-form-urlencoded": Case(
        "POST", PUSH, 415, "unsupported-media-type", user="clerk", form={"device_id": "x"}
    ),
    "put-school-text-plain": Case(
        "PUT",
        PUT_SCHOOL,
        415,
        "unsupported-media-type",
        "header.content-type",
        body=J(school_body()),
        headers={"Content-Type": "text/plain"},
    ),
    "put-unit-xml": Case(
        "PUT",
        PUT_UNIT,
        415,
        "unsupported-media-type",
        body=b"<unit/>",
        headers={"Content-Type": "application/xml"},
    ),
    "put-population-multipart": Case(
        "PUT",
        PUT_POP,
        415,
        "unsupported-media-type",
        body=b"--x\r\n\r\n--x--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    ),
    "token-as-json": Case(
        "POST",
        "/api/v1/auth/token",
        415,
        "unsupported-media-type",
        "header.content-type",
        user=None,
        json={"username": "admin", "password": "x"},
    ),
    "token-as-text": Case(
        "POST",
        "/api/v1/auth/token",
        415,
        "unsupported-media-type",
        user=None,
        body=b"username=admin&password=x",
        headers={"Content-Type": "text/plain"},
    ),
    # ---- malformed JSON: 400 malformed-json everywhere
    "push-not-json": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b"{not json",
        headers=CT_JSON,
    ),
    "push-truncated": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b'{"device_id": "d", "items": [',
        headers=CT_JSON,
    ),
    "put-school-truncated": Case(
        "PUT",
        PUT_SCHOOL,
        400,
        "malformed-json",
        "body",
        body=J(school_body())[:-5],
        headers=CT_JSON,
    ),
    "put-school-no-token-bad-json": Case(
        "PUT", PUT_SCHOOL, 400, "malformed-json", "body", user=None, body=b"{", headers=CT_JSON
    ),
    "push-nan": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b'{"device_id": "d", "items": [NaN]}',
        headers=CT_JSON,
    ),
    "push-infinity": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b'{"device_id": "d", "items": [-Infinity]}',
        headers=CT_JSON,
    ),
    "put-population-1e999": Case(
        "PUT",
        PUT_POP,
        400,
        "malformed-json",
        "body",
        body=b'{"rows": [{"unit": "DM-R01", "year": 2025, "age": 6, "sex": "F", "value": 1e999}]}',
        headers=CT_JSON,
    ),
    "push-duplicate-key-in-values": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b'{"device_id": "d", "items": [{"values": {"seats": 1, "seats": 900}}]}',
        headers=CT_JSON,
    ),
    "put-school-duplicate-name": Case(
        "PUT",
        PUT_SCHOOL,
        400,
        "malformed-json",
        "body",
        body=b'{"name": "A", "name": "B", "unit": "DM-R01-D001", "ownership": "public"}',
        headers=CT_JSON,
    ),
    "push-nested-100000-deep": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=deep(100_000),
        headers=CT_JSON,
    ),
    "push-not-utf8": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b'{"device_id": "\xff\xfe", "items": []}',
        headers=CT_JSON,
    ),
    "push-utf16": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=json.dumps(push_body()).encode("utf-16"),
        headers=CT_JSON,
    ),
    "push-utf8-bom": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b"\xef\xbb\xbf" + J(push_body()),
        headers=CT_JSON,
    ),
    "push-5000-digit-number": Case(
        "POST",
        PUSH,
        400,
        "malformed-json",
        "body",
        user="clerk",
        body=b'{"device_id": "d", "items": [' + b"9" * 5000 + b"]}",
        headers=CT_JSON,
    ),
    # ---- the push request as a whole
    "push-empty-body": Case(
        "POST", PUSH, 422, "invalid-input", "body", user="clerk", body=b"", headers=CT_JSON
    ),
    "push-device-nul": Case(
        "POST", PUSH, 400, "bad-request", "body", user="clerk", json=push_body("lap\u0000top")
    ),
    "push-device-esc": Case(
        "POST",
        PUSH,
        422,
        "invalid-input",
        "body.device_id",
        user="clerk",
        json=push_body("lap\u001b[31mtop"),
    ),
    "push-device-bel": Case(
        "POST",
        PUSH,
        422,
        "invalid-input",
        "body.device_id",
        user="clerk",
        json=push_body("lap\u0007top"),
    ),
    "push-device-crlf": Case(
        "POST",
        PUSH,
        422,
        "invalid-input",
        "body.device_id",
        user="clerk",
        json=push_body("lap\r\nSet-Cookie: x"),
    ),
    "push-device-rtl-override": Case(
        "POST",
        PUSH,
        422,
        "invalid-input",
        "body.device_id",
        user="clerk",
        json=push_body(f"lap{RTL}pot"),
    ),
    "push-device-101-chars": Case(
        "POST",
        PUSH,
        422,
        "invalid-input",
        "body.device_id",
        user="clerk",
        json=push_body("d" * 101),
    ),
    "push-device-number": Case(
        "POST", PUSH, 422, "invalid-input", "body.device_id", user="clerk", json=push_body(12)
    ),
    "push-items-not-a-list": Case(
        "POST",
        PUSH,
        422,
        "invalid-input",
        "body.items",
        user="clerk",
        json=push_body(items={"a": 1}),
    ),
    "push-100000-items": Case(
        "POST", PUSH, 413, "payload-too-large", user="clerk", json=push_body(items=[{}] * 100_000)
    ),
    "push-unknown-field": Case(
        "POST",
        PUSH,
        422,
        "invalid-input",
        "body.extra",
        user="clerk",
        json=push_body(extra="x"),
    ),
    "push-top-level-array": Case(
        "POST", PUSH, 422, "invalid-input", "body", user="clerk", json=[push_body()]
    ),
    "push-no-token": Case("POST", PUSH, 401, "unauthorized", user=None, json=push_body()),
    # ---- PUT /schools/{code}: path tricks, codes, text, levels, attributes
    "put-school-dotdot": Case(
        "PUT", "/api/v1/schools/%2e%2e", 422, "invalid-input", "path.code", json=school_body()
    ),
    "put-school-formula-code": Case(
        "PUT", "/api/v1/schools/=1+2", 422, "invalid-input", "path.code", json=school_body()
    ),
    "put-school-crlf-code": Case(
        "PUT",
        "/api/v1/schools/DM-1%0D%0AX",
        422,
        "invalid-input",
        "path.code",
        json=school_body(),
    ),
    "put-school-tab-code": Case(
        "PUT", "/api/v1/schools/DM%091", 422, "invalid-input", "path.code", json=school_body()
    ),
    "put-school-rtl-code": Case(
        "PUT",
        "/api/v1/schools/DM-%E2%80%AE1",
        422,
        "invalid-input",
        "path.code",
        json=school_body(),
    ),
    "put-school-zero-width-code": Case(
        "PUT",
        f"/api/v1/schools/{SCHOOL}%E2%80%8B",
        422,
        "invalid-input",
        "path.code",
        json=school_body(),
    ),
    "put-school-space-code": Case(
        "PUT",
        "/api/v1/schools/DM%20000001",
        422,
        "invalid-input",
        "path.code",
        json=school_body(),
    ),
    "put-school-65-char-code": Case(
        "PUT",
        "/api/v1/schools/" + "D" * 65,
        422,
        "invalid-input",
        "path.code",
        json=school_body(),
    ),
    "put-school-sql-code": Case(
        "PUT",
        "/api/v1/schools/x';DROP%20TABLE%20school;--",
        422,
        "invalid-input",
        "path.code",
        json=school_body(),
    ),
    "put-school-name-nul": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.name", json=school_body(name="A\u0000B")
    ),
    "put-school-name-esc": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.name",
        json=school_body(name="A\u001b[2JB"),
    ),
    "put-school-name-c1": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.name", json=school_body(name="A\u0085B")
    ),
    "put-school-name-crlf": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.name", json=school_body(name="A\r\nB")
    ),
    "put-school-name-bidi-isolate": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.name",
        json=school_body(name=f"A{LRI}B"),
    ),
    "put-school-name-301-chars": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.name", json=school_body(name="x" * 301)
    ),
    "put-school-name-blank": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.name", json=school_body(name="   ")
    ),
    "put-school-name-number": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.name", json=school_body(name=42)
    ),
    "put-school-lone-surrogate": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.name",
        body=b'{"name": "A\\ud800B", "unit": "DM-R01-D001", "ownership": "public"}',
        headers=CT_JSON,
    ),
    "put-school-unit-formula": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.unit", json=school_body(unit=HYPERLINK)
    ),
    "put-school-unit-5000-chars": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.unit", json=school_body(unit="D" * 5000)
    ),
    "put-school-unit-zero-width": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.unit",
        json=school_body(unit="DM-R01-D001" + ZWSP),
    ),
    "put-school-unknown-unit": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.unit", json=school_body(unit="DM-NOWHERE")
    ),
    "put-school-ownership-sql": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.ownership",
        json=school_body(ownership="public'; DROP TABLE school; --"),
    ),
    "put-school-status-unknown": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.status",
        json=school_body(status="demolished"),
    ),
    "put-school-100000-levels": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.levels",
        json=school_body(levels=["x"] * 100_000),
    ),
    "put-school-made-up-level": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.levels[1]",
        json=school_body(levels=["primary", "astrology"]),
    ),
    "put-school-attributes-600-deep": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.attributes",
        body=b'{"name": "A", "unit": "DM-R01-D001", "ownership": "public", "attributes": '
        + b'{"a": ' * 600
        + b"1"
        + b"}" * 600
        + b"}",
        headers=CT_JSON,
    ),
    "put-school-attributes-20kb": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.attributes",
        json=school_body(attributes={"note": "x" * 20_000}),
    ),
    "put-school-attributes-300-keys": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.attributes",
        json=school_body(attributes={f"k{n}": n for n in range(300)}),
    ),
    "put-school-attributes-control-key": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.attributes",
        json=school_body(attributes={"a\u0000b": 1}),
    ),
    "put-school-attributes-not-object": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body.attributes",
        json=school_body(attributes=[1, 2]),
    ),
    "put-school-unknown-field": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body.colour", json=school_body(colour="red")
    ),
    "put-school-empty-body": Case(
        "PUT", PUT_SCHOOL, 422, "invalid-input", "body", body=b"", headers=CT_JSON
    ),
    "put-school-null-body": Case(
        "PUT",
        PUT_SCHOOL,
        422,
        "invalid-input",
        "body",
        json=None,
        body=b"null",
        headers=CT_JSON,
    ),
    "put-school-clerk": Case("PUT", PUT_SCHOOL, 403, "forbidden", user="clerk", json=school_body()),
    # ---- DELETE /schools/{code}
    "delete-school-dotdot": Case(
        "DELETE", "/api/v1/schools/%2e%2e", 422, "invalid-input", "path.code"
    ),
    "delete-school-formula": Case(
        "DELETE", "/api/v1/schools/@SUM(A1)", 422, "invalid-input", "path.code"
    ),
    "delete-school-unknown": Case("DELETE", "/api/v1/schools/DM-999999", 404, "not-found"),
    "delete-school-no-token": Case("DELETE", PUT_SCHOOL, 401, "unauthorized", user=None),
    # ---- PUT /admin-units/{code}
    "put-unit-dotdot": Case(
        "PUT", "/api/v1/admin-units/%2e%2e", 422, "invalid-input", "path.code", json=unit_body()
    ),
    "put-unit-leading-dash": Case(
        "PUT", "/api/v1/admin-units/-DM", 422, "invalid-input", "path.code", json=unit_body()
    ),
    "put-unit-name-crlf": Case(
        "PUT", PUT_UNIT, 422, "invalid-input", "body.name", json=unit_body(name="A\r\nB")
    ),
    "put-unit-level-name-65": Case(
        "PUT",
        PUT_UNIT,
        422,
        "invalid-input",
        "body.level_name",
        json=unit_body(level_name="l" * 65),
    ),
    "put-unit-parent-formula": Case(
        "PUT", PUT_UNIT, 422, "invalid-input", "body.parent", json=unit_body(parent="+cmd|x")
    ),
    "put-unit-parent-5000": Case(
        "PUT", PUT_UNIT, 422, "invalid-input", "body.parent", json=unit_body(parent="P" * 5000)
    ),
    "put-unit-name-missing": Case(
        "PUT",
        PUT_UNIT,
        422,
        "invalid-input",
        "body.name",
        json={"level_name": "district", "parent": "DM-R01"},
    ),
    # ---- PUT /school-years/{year}
    "put-year-closes-overflow": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.window_closes",
        json=year_body(window_closes="9999-12-31T23:59:59-14:00"),
    ),
    "put-year-opens-number": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.window_opens",
        json=year_body(window_opens=12345),
    ),
    "put-year-opens-no-zone": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.window_opens",
        json=year_body(window_opens="2031-11-01T00:00:00"),
    ),
    "put-year-opens-month-13": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.window_opens",
        json=year_body(window_opens="2031-13-01T00:00:00Z"),
    ),
    "put-year-opens-1800": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.window_opens",
        json=year_body(window_opens="1800-01-01T00:00:00Z"),
    ),
    "put-year-opens-date-only": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.window_opens",
        json=year_body(window_opens="2031-11-01"),
    ),
    "put-year-reopened-bool": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.reopened_until",
        json=year_body(reopened_until=True),
    ),
    "put-year-reference-date-number": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body.reference_date",
        json=year_body(reference_date=12345),
    ),
    "put-year-label-100k": Case(
        "PUT", PUT_YEAR, 422, "invalid-input", "body.label", json=year_body(label="y" * 100_000)
    ),
    "put-year-label-nul": Case(
        "PUT", PUT_YEAR, 422, "invalid-input", "body.label", json=year_body(label="2031\u0000")
    ),
    "put-year-path-99999": Case(
        "PUT", "/api/v1/school-years/99999", 422, "invalid-input", "path.year", json=year_body()
    ),
    "put-year-closes-before-opens": Case(
        "PUT",
        PUT_YEAR,
        422,
        "invalid-input",
        "body",
        json=year_body(window_closes="2030-01-01T00:00:00Z"),
    ),
    # ---- PUT /education-levels/{code}
    "put-level-dotdot": Case(
        "PUT",
        "/api/v1/education-levels/%2e%2e",
        422,
        "invalid-input",
        "path.code",
        json=level_body(),
    ),
    "put-level-33-char-code": Case(
        "PUT",
        "/api/v1/education-levels/" + "l" * 33,
        422,
        "invalid-input",
        "path.code",
        json=level_body(),
    ),
    "put-level-grade-formula": Case(
        "PUT",
        PUT_LEVEL,
        422,
        "invalid-input",
        "body.grades[1]",
        json=level_body(grades=["P1", "=1+2"]),
    ),
    "put-level-100000-grades": Case(
        "PUT",
        PUT_LEVEL,
        422,
        "invalid-input",
        "body.grades",
        json=level_body(grades=["P1"] * 100_000),
    ),
    "put-level-name-bel": Case(
        "PUT", PUT_LEVEL, 422, "invalid-input", "body.name", json=level_body(name="Pri\u0007")
    ),
    "put-level-duration-fraction": Case(
        "PUT", PUT_LEVEL, 422, "invalid-input", "body.duration", json=level_body(duration=1.5)
    ),
    "put-level-sequence-negative": Case(
        "PUT", PUT_LEVEL, 422, "invalid-input", "body.sequence", json=level_body(sequence=-1)
    ),
    "put-level-age-string": Case(
        "PUT",
        PUT_LEVEL,
        422,
        "invalid-input",
        "body.entrance_age",
        json=level_body(entrance_age="6"),
    ),
    # ---- PUT /population
    "put-population-no-rows": Case(
        "PUT", PUT_POP, 422, "invalid-input", "body.rows", json={"rows": []}
    ),
    "put-population-unit-formula": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].unit",
        json={"rows": [pop_row(unit="=1+2")]},
    ),
    "put-population-unit-5000": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].unit",
        json={"rows": [pop_row(unit="U" * 5000)]},
    ),
    "put-population-negative": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].value",
        json={"rows": [pop_row(value=-1)]},
    ),
    "put-population-fraction": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].value",
        json={"rows": [pop_row(value=1.5)]},
    ),
    "put-population-2-pow-63": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].value",
        json={"rows": [pop_row(value=2**63)]},
    ),
    "put-population-bool": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].value",
        json={"rows": [pop_row(value=True)]},
    ),
    "put-population-sex-x": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].sex",
        json={"rows": [pop_row(sex="X")]},
    ),
    "put-population-unknown-field": Case(
        "PUT",
        PUT_POP,
        422,
        "invalid-input",
        "body.rows[0].colour",
        json={"rows": [pop_row(colour="red")]},
    ),
    # ---- the login form and Authorization headers
    "token-username-10000": Case(
        "POST",
        "/api/v1/auth/token",
        422,
        "invalid-input",
        "body.username",
        user=None,
        form={"username": "u" * 10_000, "password": "x"},
    ),
    "token-no-password": Case(
        "POST",
        "/api/v1/auth/token",
        422,
        "invalid-input",
        "body.password",
        user=None,
        form={"username": "admin"},
    ),
    "token-sql-username": Case(
        "POST",
        "/api/v1/auth/token",
        401,
        "unauthorized",
        user=None,
        form={"username": "admin' OR '1'='1", "password": "' OR '1'='1"},
    ),
    "auth-bearer-empty": Case(
        "GET",
        "/api/v1/schools",
        401,
        "unauthorized",
        user=None,
        headers={"Authorization": "Bearer "},
    ),
    "auth-basic": Case(
        "GET",
        "/api/v1/schools",
        401,
        "unauthorized",
        user=None,
        headers={"Authorization": "Basic YWRtaW46YWRtaW4="},
    ),
    "auth-bearer-10000": Case(
        "GET",
        "/api/v1/schools",
        401,
        "unauthorized",
        user=None,
        headers={"Authorization": "Bearer " + "t" * 10_000},
    ),
    "auth-bearer-sql": Case(
        "GET",
        "/api/v1/schools",
        401,
        "unauthorized",
        user=None,
        headers={"Authorization": "Bearer emis_s_' OR 1=1 --"},
    ),
    # ---- lists, cursors and query parameters
    "returns-cursor-forged-string-id": Case(
        "GET", "/api/v1/returns?cursor=eyJpIjoieCJ9", 400, "bad-request", "query.cursor"
    ),
    "returns-cursor-1e999": Case(
        "GET", "/api/v1/returns?cursor=eyJpIjoxZTk5OX0", 400, "bad-request", "query.cursor"
    ),
    "returns-cursor-negative": Case(
        "GET", "/api/v1/returns?cursor=eyJpIjotMX0", 400, "bad-request", "query.cursor"
    ),
    "returns-cursor-bool": Case(
        "GET", "/api/v1/returns?cursor=eyJpIjp0cnVlfQ", 400, "bad-request", "query.cursor"
    ),
    "returns-cursor-not-base64": Case(
        "GET", "/api/v1/returns?cursor=%21%21%21", 400, "bad-request", "query.cursor"
    ),
    "returns-cursor-2000-chars": Case(
        "GET", "/api/v1/returns?cursor=" + "A" * 2000, 400, "bad-request", "query.cursor"
    ),
    "returns-limit-negative": Case(
        "GET", "/api/v1/returns?limit=-1", 422, "invalid-input", "query.limit"
    ),
    "returns-limit-fraction": Case(
        "GET", "/api/v1/returns?limit=1.5", 422, "invalid-input", "query.limit"
    ),
    "returns-limit-huge": Case(
        "GET", "/api/v1/returns?limit=" + "9" * 30, 422, "invalid-input", "query.limit"
    ),
    "returns-year-nan": Case("GET", "/api/v1/returns?year=NaN", 422, "invalid-input", "query.year"),
    "returns-status-sql": Case(
        "GET", "/api/v1/returns?status=x'%20OR%201=1--", 422, "invalid-input", "query.status"
    ),
    "schools-cursor-number": Case(
        "GET", "/api/v1/schools?cursor=eyJjIjo1fQ", 400, "bad-request", "query.cursor"
    ),
    "schools-cursor-extra-key": Case(
        "GET", "/api/v1/schools?cursor=eyJjIjoieCIsInoiOjF9", 400, "bad-request", "query.cursor"
    ),
    "admin-units-cursor-list": Case(
        "GET", "/api/v1/admin-units?cursor=eyJwIjpbIngiXX0", 400, "bad-request", "query.cursor"
    ),
    "admin-units-level-negative": Case(
        "GET", "/api/v1/admin-units?level=-1", 422, "invalid-input", "query.level"
    ),
    "pull-cursor-forged": Case(
        "GET", "/api/v1/sync/pull?cursor=eyJlIjoieCJ9", 410, "gone", "query.cursor", user="clerk"
    ),
    "pull-cursor-1e999": Case(
        "GET",
        "/api/v1/sync/pull?cursor=eyJlIjoieCIsInMiOjFlOTk5fQ",
        410,
        "gone",
        "query.cursor",
        user="clerk",
    ),
    "pull-limit-zero": Case(
        "GET", "/api/v1/sync/pull?limit=0", 422, "invalid-input", "query.limit", user="clerk"
    ),
    "pull-device-header-bidi": Case(
        "GET",
        "/api/v1/sync/pull",
        422,
        "invalid-input",
        "header.x-device-id",
        user="clerk",
        headers={"X-Device-Id": "lap\u202etop".encode()},
    ),
    "indicators-year-text": Case(
        "GET", "/api/v1/indicators?year=abc", 422, "invalid-input", "query.year"
    ),
    "indicators-year-huge": Case(
        "GET", "/api/v1/indicators?year=" + "9" * 40, 422, "invalid-input", "query.year"
    ),
    "indicators-format-xml": Case(
        "GET", "/api/v1/indicators?year=2025&format=xml", 422, "invalid-input", "query.format"
    ),
    "indicators-unknown-indicator": Case(
        "GET",
        "/api/v1/indicators?year=2025&indicator=GER,DROP%20TABLE",
        422,
        "invalid-input",
        "query.indicator",
    ),
    "aggregates-level-sql": Case(
        "GET",
        "/api/v1/aggregates?year=2025&element=enrolment&level=1%20OR%201=1",
        422,
        "invalid-input",
        "query.level",
    ),
    "aggregates-by-unknown": Case(
        "GET",
        "/api/v1/aggregates?year=2025&element=enrolment&by=password",
        422,
        "invalid-input",
        "query.by",
    ),
    "population-year-out-of-range": Case(
        "GET", "/api/v1/population?unit=DM&year=99999", 422, "invalid-input", "query.year"
    ),
    "population-no-unit": Case(
        "GET", "/api/v1/population?year=2025", 422, "invalid-input", "query.unit"
    ),
    "population-nul-unit": Case("GET", "/api/v1/population?unit=%00&year=2025", 400, "bad-request"),
    # ---- routes and methods that do not exist
    "unknown-route": Case("GET", "/api/v1/nothing-here", 404, "not-found"),
    "method-not-allowed": Case("DELETE", "/api/v1/school-years/2025", 405, "method-not-allowed"),
    "post-to-a-put": Case("POST", PUT_SCHOOL, 405, "method-not-allowed", json=school_body()),
}


def send(env: Env, case: Case) -> Any:
    headers = dict(case.headers)
    if case.user:
        headers["Authorization"] = f"Bearer {env.tokens[case.user]}"
    kwargs: dict[str, Any] = {"headers": headers}
    if case.form is not None:
        kwargs["data"] = case.form
    elif case.body is not None:
        body = case.body() if callable(case.body) else case.body
        if case.stream:
            chunks = [body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024)]
            kwargs["content"] = iter(chunks)
            headers.setdefault("Content-Type", "application/json")
        else:
            kwargs["content"] = body
    elif case.json is not None:
        kwargs["content"] = J(case.json)
        headers.setdefault("Content-Type", "application/json")
    return env.client.request(case.method, case.url, **kwargs)


def assert_problem(resp: Any, status: int, type_: str, path: str | None) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    problem = resp.json()
    assert problem["status"] == status
    assert problem["type"].endswith("/" + type_), problem
    assert problem["detail"]
    if path is not None:
        paths = [e["path"] for e in problem.get("errors", [])]
        assert any(p.startswith(path) for p in paths), (path, problem)
    return problem


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_request_is_a_named_4xx_and_changes_nothing(env: Env, name: str) -> None:
    case = CASES[name]
    before = dump(env.engine)
    resp = send(env, case)
    assert_problem(resp, case.status, case.type, case.path)
    assert env.client.get("/health").status_code == 200
    after = dump(env.engine)
    # A refused sign-in is itself an event: the audit trail keeps it (and nothing else new).
    trail = set(after.pop("audit_event")) - set(before.pop("audit_event"))
    assert all("'login.failed'" in row for row in trail), trail
    assert bool(trail) == (case.url.endswith("/auth/token") and case.status == 401)
    assert after == before


# ------------------------------------------------------------------ bad push items, one by one


def push_item(env: Env, **change: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "form": FORM,
        "form_version": 1,
        "year": env.year,
        "school": env.school,
        "base_revision": 0,
        "values": good_values(),
        "captured_at": "2026-03-02T10:15:00+00:00",
        **change,
    }


def duplicate_cells(env: Env) -> dict[str, Any]:
    cell = {"grade": "P1", "sex": "F", "age": 6, "value": 1}
    return {**good_values(), "enrolment": [cell] * 100_000}


ITEM_CASES: dict[str, tuple[Callable[[Env], dict[str, Any]], str]] = {
    "school-formula": (lambda e: push_item(e, school=HYPERLINK), "school"),
    "school-dotdot": (lambda e: push_item(e, school=".."), "school"),
    "school-zero-width": (lambda e: push_item(e, school=e.school + ZWSP), "school"),
    "school-crlf": (lambda e: push_item(e, school=e.school + "\r\n"), "school"),
    "school-5000-chars": (lambda e: push_item(e, school="S" * 5000), "school"),
    "school-number": (lambda e: push_item(e, school=1), "school"),
    "form-tab": (lambda e: push_item(e, form=FORM + "\t"), "form"),
    "captured-at-number": (lambda e: push_item(e, captured_at=12345), "captured_at"),
    "captured-at-overflow": (
        lambda e: push_item(e, captured_at="9999-12-31T23:59:59-14:00"),
        "captured_at",
    ),
    "captured-at-no-zone": (
        lambda e: push_item(e, captured_at="2026-03-02T10:15:00"),
        "captured_at",
    ),
    "captured-at-year-1": (
        lambda e: push_item(e, captured_at="0001-01-01T00:00:00+00:00"),
        "captured_at",
    ),
    "values-100000-duplicate-cells": (lambda e: push_item(e, values=duplicate_cells(e)), "values"),
    "values-100000-item-list": (lambda e: push_item(e, values=[1] * 100_000), "values"),
    "base-revision-fraction": (lambda e: push_item(e, base_revision=1.5), "base_revision"),
    "base-revision-huge": (lambda e: push_item(e, base_revision=2**70), "base_revision"),
    "form-version-bool": (lambda e: push_item(e, form_version=True), "form_version"),
    "year-string": (lambda e: push_item(e, year="2025"), "year"),
    "id-sql": (lambda e: push_item(e, id="1' OR '1'='1"), "id"),
    "unknown-field": (lambda e: push_item(e, school_name="x"), "school_name"),
}


@pytest.mark.parametrize("name", list(ITEM_CASES))
def test_hostile_push_item_is_rejected_alone_and_stores_nothing(env: Env, name: str) -> None:
    build, path = ITEM_CASES[name]
    # The device's last push time legitimately changes: the server notes that it pushed.
    before = dump(env.engine, lambda t, c: (t, c) == ("device", "last_push_at"))
    resp = env.client.post(
        PUSH,
        content=J({"device_id": "laptop-1", "items": [build(env)]}),
        headers={"Authorization": f"Bearer {env.tokens['clerk']}", **CT_JSON},
    )
    assert resp.status_code == 200, resp.text[:500]
    (result,) = resp.json()["results"]
    assert result["status"] == "rejected"
    assert path in [e["path"] for e in result["errors"]], result["errors"]
    assert env.client.get("/health").status_code == 200
    assert dump(env.engine, lambda t, c: (t, c) == ("device", "last_push_at")) == before


def test_the_catalogue_is_large_enough() -> None:
    assert len(CASES) + len(ITEM_CASES) >= 80
