"""The authorization matrix: every route of the app, called as every role, with no token and
with a bad token, inside and outside the caller's area, answers what the rules say.

The routes are enumerated from the app itself: a route without a rule, or without a call in
CALLS below, fails `test_every_route_has_a_rule_and_a_call`."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.auth.deps import api_routes, route_rule
from app.auth.permissions import GRANTS, Permission
from app.auth.service import create_user
from app.core.uow import unit_of_work
from app.web.router import is_page
from tests.sync.helpers import FORM, good_values

ROLES = ("admin", "analyst", "reviewer", "clerk")
PASSWORD = "matrix-pass-1"
# The matrix's own users: areas chosen so that each has an inside and an outside.
AREAS = {"analyst": "DM-R01", "reviewer": "DM-R01", "clerk": "DM-R01-D001"}


def app_routes(app: Any, pages: bool = False) -> list[tuple[str, str, Any]]:
    """(method, path, rule) of every route the app serves (the rule: a Permission, "public",
    or None when the route declares none): the API's, or with `pages` the dashboard's (signed
    in with a cookie, not a bearer token: tests/web/test_pages.py holds their matrix)."""
    return [
        (method, route.path, route_rule(route.dependant))
        for route in api_routes(app.router.routes)
        for method in sorted(route.methods - {"HEAD"})
        if is_page(route.path) == pages
    ]


@dataclass
class World:
    """What the calls need: codes inside and outside the matrix users' areas."""

    year: int
    school_in: str
    school_out: str
    push_in: str  # another school inside: the pushes' returns must not make school_in known
    unit_in: str = "DM-R01-D001"
    unit_out: str = "DM-R02"


# Each call: (world, place) -> (method, url, kwargs for the client). place is "in", "out" or
# "unknown" (a thing that does not exist, inside the area).
Call = Callable[[World, str], tuple[str, str, dict[str, Any]]]


def _school(w: World, place: str) -> str:
    return {"in": w.school_in, "out": w.school_out, "unknown": "DM-999999"}[place]


def _unit(w: World, place: str) -> str:
    return {"in": w.unit_in, "out": w.unit_out, "unknown": "DM-R99"}[place]


def _push(w: World, place: str, who: str = "") -> tuple[str, str, dict[str, Any]]:
    item = {
        "id": str(uuid.uuid4()),
        "form": FORM,
        "form_version": 1,
        "year": w.year,
        "school": w.push_in if place == "in" else _school(w, place),
        "base_revision": 0,
        "values": good_values(),
    }
    # Each person pushes from a device of their own (a device belongs to its user).
    body = {"device_id": f"matrix-{who}", "items": [item]}
    return "post", "/api/v1/sync/push", {"json": body}


SCHOOL_BODY = {
    "name": "Matrix school",
    "unit": "DM-R01-D001",
    "ownership": "public",
    "locality": "rural",
    "levels": ["primary"],
    "status": "open",
}

# (method, path template) -> (call, area-scoped?, places to try)
CALLS: dict[tuple[str, str], tuple[Call, bool]] = {
    ("get", "/health"): (lambda w, p: ("get", "/health", {}), False),
    ("get", "/ready"): (lambda w, p: ("get", "/ready", {}), False),
    ("get", "/docs"): (lambda w, p: ("get", "/docs", {}), False),
    ("post", "/api/v1/auth/token"): (
        lambda w, p: ("post", "/api/v1/auth/token", {"data": {"username": "x", "password": "y"}}),
        False,
    ),
    ("get", "/api/v1/auth/me"): (lambda w, p: ("get", "/api/v1/auth/me", {}), False),
    ("get", "/api/v1/audit"): (lambda w, p: ("get", "/api/v1/audit?limit=5", {}), False),
    ("get", "/api/v1/admin-units"): (
        lambda w, p: ("get", f"/api/v1/admin-units?under={_unit(w, p)}", {}),
        False,
    ),
    ("get", "/api/v1/admin-units/{code}"): (
        lambda w, p: ("get", f"/api/v1/admin-units/{_unit(w, p)}", {}),
        False,
    ),
    ("put", "/api/v1/admin-units/{code}"): (
        lambda w, p: (
            "put",
            "/api/v1/admin-units/DM-R01-D901",
            {"json": {"name": "Matrix", "level_name": "district", "parent": "DM-R01"}},
        ),
        False,
    ),
    ("get", "/api/v1/schools"): (
        lambda w, p: ("get", f"/api/v1/schools?unit={_unit(w, p)}&limit=5", {}),
        True,
    ),
    ("get", "/api/v1/schools/{code}"): (
        lambda w, p: ("get", f"/api/v1/schools/{_school(w, p)}", {}),
        True,
    ),
    ("put", "/api/v1/schools/{code}"): (
        lambda w, p: ("put", "/api/v1/schools/DM-990001", {"json": SCHOOL_BODY}),
        False,
    ),
    ("delete", "/api/v1/schools/{code}"): (
        lambda w, p: ("delete", "/api/v1/schools/DM-990002", {}),
        False,
    ),
    ("get", "/api/v1/school-years"): (lambda w, p: ("get", "/api/v1/school-years", {}), False),
    ("get", "/api/v1/school-years/{year}"): (
        lambda w, p: ("get", f"/api/v1/school-years/{w.year}", {}),
        False,
    ),
    ("put", "/api/v1/school-years/{year}"): (
        lambda w, p: (
            "put",
            "/api/v1/school-years/2101",
            {
                "json": {
                    "label": "2101-2102",
                    "reference_date": "2101-10-01",
                    "window_opens": "2101-09-01T00:00:00Z",
                    "window_closes": "2102-08-31T23:59:59Z",
                }
            },
        ),
        False,
    ),
    ("get", "/api/v1/education-levels"): (
        lambda w, p: ("get", "/api/v1/education-levels", {}),
        False,
    ),
    ("put", "/api/v1/education-levels/{code}"): (
        lambda w, p: (
            "put",
            "/api/v1/education-levels/matrix",
            {
                "json": {
                    "name": "Matrix level",
                    "sequence": 9,
                    "entrance_age": 20,
                    "duration": 1,
                    "grades": ["MX1"],
                }
            },
        ),
        False,
    ),
    ("get", "/api/v1/population"): (
        lambda w, p: ("get", f"/api/v1/population?unit={_unit(w, p)}&year={w.year}", {}),
        True,
    ),
    ("put", "/api/v1/population"): (
        lambda w, p: (
            "put",
            "/api/v1/population",
            {
                "json": {
                    "rows": [
                        {"unit": "DM-R01-D001", "year": w.year, "age": 6, "sex": "F", "value": 7}
                    ]
                }
            },
        ),
        False,
    ),
    ("get", "/api/v1/forms"): (lambda w, p: ("get", "/api/v1/forms", {}), False),
    ("get", "/api/v1/forms/{code}/{version}"): (
        lambda w, p: ("get", f"/api/v1/forms/{FORM}/1", {}),
        False,
    ),
    ("post", "/api/v1/sync/push"): (_push, True),
    ("get", "/api/v1/sync/pull"): (lambda w, p: ("get", "/api/v1/sync/pull?limit=5", {}), False),
    ("get", "/api/v1/sync/config"): (lambda w, p: ("get", "/api/v1/sync/config", {}), False),
    ("get", "/api/v1/returns"): (
        lambda w, p: ("get", f"/api/v1/returns?unit={_unit(w, p)}&limit=5", {}),
        True,
    ),
    ("get", "/api/v1/returns/{form}/{year}/{school}"): (
        lambda w, p: ("get", f"/api/v1/returns/{FORM}/{w.year}/{_school(w, p)}", {}),
        True,
    ),
    ("get", "/api/v1/returns/{form}/{year}/{school}/history"): (
        lambda w, p: ("get", f"/api/v1/returns/{FORM}/{w.year}/{_school(w, p)}/history", {}),
        True,
    ),
    ("get", "/api/v1/indicators"): (
        lambda w, p: (
            "get",
            f"/api/v1/indicators?year={w.year}&level=2&unit={_unit(w, p)}&indicator=GER",
            {},
        ),
        True,
    ),
    ("get", "/api/v1/indicators/definitions"): (
        lambda w, p: ("get", "/api/v1/indicators/definitions", {}),
        False,
    ),
    ("get", "/api/v1/aggregates"): (
        lambda w, p: (
            "get",
            f"/api/v1/aggregates?year={w.year}&level=2&unit={_unit(w, p)}&element=enrolment",
            {},
        ),
        True,
    ),
    ("get", "/metrics"): (lambda w, p: ("get", "/metrics", {}), False),
    ("get", "/api/v1/completeness"): (
        lambda w, p: ("get", f"/api/v1/completeness?year={w.year}&level=2&unit={_unit(w, p)}", {}),
        True,
    ),
    ("post", "/api/v1/releases"): (
        lambda w, p: ("post", "/api/v1/releases", {"json": {"year": w.year}}),
        False,
    ),
    ("get", "/api/v1/releases"): (lambda w, p: ("get", "/api/v1/releases", {}), False),
    ("get", "/api/v1/releases/{release_id}"): (
        lambda w, p: ("get", "/api/v1/releases/99", {}),
        False,
    ),
    ("get", "/api/v1/releases/{release_id}/changes"): (
        lambda w, p: ("get", "/api/v1/releases/99/changes", {}),
        False,
    ),
    ("get", "/api/v1/releases/{release_id}/export"): (
        lambda w, p: ("get", "/api/v1/releases/99/export?format=sdmx-csv", {}),
        False,
    ),
    ("post", "/api/v1/webhooks"): (
        lambda w, p: (
            "post",
            "/api/v1/webhooks",
            {"json": {"url": "http://127.0.0.1:9/hook", "secret": "s" * 20}},
        ),
        False,
    ),
    ("get", "/api/v1/webhooks"): (lambda w, p: ("get", "/api/v1/webhooks", {}), False),
    ("delete", "/api/v1/webhooks/{hook_id}"): (
        lambda w, p: ("delete", "/api/v1/webhooks/99", {}),
        False,
    ),
    ("get", "/api/v1/webhooks/{hook_id}/deliveries"): (
        lambda w, p: ("get", "/api/v1/webhooks/99/deliveries", {}),
        False,
    ),
    ("post", "/api/v1/webhooks/deliveries/{delivery_id}/redeliver"): (
        lambda w, p: ("post", "/api/v1/webhooks/deliveries/99/redeliver", {}),
        False,
    ),
    ("get", "/api/v1/review/ladder"): (lambda w, p: ("get", "/api/v1/review/ladder", {}), False),
    ("post", "/api/v1/returns/{form}/{year}/{school}/approve"): (
        lambda w, p: (
            "post",
            f"/api/v1/returns/{FORM}/{w.year}/{_school(w, p)}/approve",
            {"json": {}},
        ),
        True,
    ),
    ("post", "/api/v1/returns/{form}/{year}/{school}/send-back"): (
        lambda w, p: (
            "post",
            f"/api/v1/returns/{FORM}/{w.year}/{_school(w, p)}/send-back",
            {"json": {"comment": "Check P2."}},
        ),
        True,
    ),
    ("post", "/api/v1/returns/{form}/{year}/{school}/reopen"): (
        lambda w, p: (
            "post",
            f"/api/v1/returns/{FORM}/{w.year}/{_school(w, p)}/reopen",
            {"json": {"comment": "Reopened."}},
        ),
        True,
    ),
    ("put", "/api/v1/excuses/{form}/{year}/{school}"): (
        lambda w, p: (
            "put",
            f"/api/v1/excuses/{FORM}/{w.year}/{_school(w, p)}",
            {"json": {"reason": "Closed for works."}},
        ),
        True,
    ),
    ("delete", "/api/v1/excuses/{form}/{year}/{school}"): (
        lambda w, p: ("delete", f"/api/v1/excuses/{FORM}/{w.year}/{_school(w, p)}", {}),
        True,
    ),
    ("post", "/api/v1/units/{code}/approve"): (
        lambda w, p: (
            "post",
            f"/api/v1/units/{_unit(w, p)}/approve?form={FORM}&year={w.year}",
            {"json": {}},
        ),
        True,
    ),
}


def test_every_route_has_a_rule_and_a_call(demo):
    routes = app_routes(demo.client.app)
    assert routes, "no routes found: the walk over the app's routers is broken"
    pages = app_routes(demo.client.app, pages=True)
    without_rule = [(m, p) for m, p, rule in routes + pages if rule is None]
    assert without_rule == [], f"routes without a permission or a public mark: {without_rule}"
    served = {(m.lower(), p) for m, p, _ in routes}
    assert served == set(CALLS), (
        f"routes without a call here: {sorted(served - set(CALLS))}; "
        f"calls for routes that are gone: {sorted(set(CALLS) - served)}"
    )


def _expected(rule: Any, role: str, scoped: bool, place: str, key: tuple[str, str]) -> set[int]:
    """The statuses the rules allow for this call."""
    if rule == "public":
        return {401} if key == ("post", "/api/v1/auth/token") else {200}
    if not (role == "admin" or rule in GRANTS[role]):
        return {403}
    if scoped and place == "out" and role != "admin":
        # A push stands item by item: the item outside the area is rejected in a 200.
        return {200} if key == ("post", "/api/v1/sync/push") else {403}
    if key[1].startswith("/api/v1/returns/"):
        return {404}  # school_in has no return: unknown inside the area (the admin's all)
    if key == ("delete", "/api/v1/schools/{code}"):
        return {204}
    if key == ("put", "/api/v1/excuses/{form}/{year}/{school}"):
        return {204}
    if key == ("delete", "/api/v1/excuses/{form}/{year}/{school}"):
        return {204, 404}  # the first reviewer's delete removes the excuse; later ones find none
    if key == ("post", "/api/v1/releases"):
        # Only a national analyst or an administrator publishes; nothing is approved yet.
        return {409} if role == "admin" else {403}
    if key[1].startswith("/api/v1/releases/"):
        return {404}  # no release yet
    if key == ("post", "/api/v1/webhooks"):
        return {201}
    if key in (
        ("delete", "/api/v1/webhooks/{hook_id}"),
        ("post", "/api/v1/webhooks/deliveries/{delivery_id}/redeliver"),
    ):
        return {404}
    if key == ("post", "/api/v1/units/{code}/approve"):
        return {409}  # allowed, but the unit's schools have not reported
    return {200}


@pytest.fixture
def world(demo) -> World:
    with unit_of_work(demo.db) as uow:
        for role, unit in AREAS.items():
            create_user(uow.session, f"m_{role}", PASSWORD, role, unit)
    admin = demo.auth("admin")

    def first(unit: str, n: int = 0) -> str:
        page = demo.client.get(f"/api/v1/schools?unit={unit}&limit=2", headers=admin).json()
        return str(page["items"][n]["code"])

    return World(
        year=demo.result.years[1],
        school_in=first("DM-R01-D001"),
        school_out=first("DM-R02"),
        push_in=first("DM-R01-D001", 1),
    )


def _headers(demo, role: str) -> dict[str, str]:
    if role == "admin":
        return demo.auth("admin")
    resp = demo.client.post(
        "/api/v1/auth/token", data={"username": f"m_{role}", "password": PASSWORD}
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_every_route_answers_every_role_as_the_rules_say(demo, world):
    app = demo.client.app
    rules = {(m.lower(), p): rule for m, p, rule in app_routes(app)}
    headers = {role: _headers(demo, role) for role in ROLES}
    no_token: dict[str, str] = {}
    bad_tokens = [
        {"Authorization": "Bearer emis_s_not-a-token"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer"},
    ]
    mismatches: list[str] = []
    calls = 0

    def check(key: tuple[str, str], who: str, h: dict[str, str], place: str, want: set[int]):
        nonlocal calls
        call = CALLS[key][0]
        method, url, kwargs = _push(world, place, who) if call is _push else call(world, place)
        resp = demo.client.request(method.upper(), url, headers=h, **kwargs)
        calls += 1
        if resp.status_code not in want:
            mismatches.append(f"{method.upper()} {url} as {who} ({place}): {resp.status_code}")
        elif resp.status_code >= 400:
            assert resp.headers["content-type"].startswith("application/problem+json")
        if key == ("post", "/api/v1/sync/push") and resp.status_code == 200:
            (result,) = resp.json()["results"]
            # Inside: applied, or a conflict when an earlier role's push made the return first;
            # either way the item got past the rights. Outside: rejected.
            ok = {"rejected"} if place == "out" else {"applied", "conflict"}
            if result["status"] not in ok:
                mismatches.append(f"push as {who} ({place}): {result['status']}, not {ok}")

    # The throwaway school the delete removes (only the admin's delete may succeed).
    put = demo.client.put("/api/v1/schools/DM-990002", json=SCHOOL_BODY, headers=headers["admin"])
    assert put.status_code == 200, put.text
    for key, (_call, scoped) in CALLS.items():
        rule = rules[key]
        if rule != "public":
            for h in [no_token, *bad_tokens]:
                check(key, "no or a bad token", h, "in", {401})
        # The admin last, so that the admin's delete comes after everyone's refusal.
        for role in ("analyst", "reviewer", "clerk", "admin"):
            # The admin's area is the whole country: there is no outside.
            places = ["in", "out"] if scoped and role != "admin" else ["in"]
            if scoped and key[0] == "get" and "{" in key[1]:
                places.append("unknown")
            for place in places:
                want = _expected(rule, role, scoped, place, key)
                if place == "unknown" and want != {403}:
                    want = {404}
                check(key, role, headers[role], place, want)
    assert mismatches == [], "\n".join(mismatches)
    assert calls > 200


def test_the_grants_hold_what_the_roles_need():
    """The rules in words: clerks push, reviewers and clerks pull, only admins manage the
    registry and read the audit trail and the metrics, everyone reads figures of their area."""
    assert Permission.push_returns in GRANTS["clerk"]
    assert Permission.push_returns not in GRANTS["reviewer"] | GRANTS["analyst"]
    assert Permission.pull not in GRANTS["analyst"]
    for role in ("analyst", "reviewer", "clerk"):
        assert (
            not {
                Permission.manage_registry,
                Permission.read_audit,
                Permission.read_metrics,
            }
            & GRANTS[role]
        )
        assert Permission.read_figures in GRANTS[role]
    assert GRANTS["admin"] == frozenset(Permission)
