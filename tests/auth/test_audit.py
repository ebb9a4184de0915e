"""The audit trail, sign-in limits, token last use and devices that belong to their user."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from typer.testing import CliRunner

from app.auth.models import ApiToken
from app.auth.service import LIMITS
from app.cli import app as cli
from app.core.audit import AuditRecord
from app.core.types import utcnow
from tests.sync.helpers import FORM, clerk_schools, good_values


def _events(demo, **where) -> list[AuditRecord]:
    with demo.factory() as s:
        q = select(AuditRecord).order_by(AuditRecord.id)
        for k, v in where.items():
            q = q.where(getattr(AuditRecord, k) == v)
        return list(s.scalars(q))


def _login(demo, username: str, password: str):
    return demo.client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_sign_ins_are_audited_success_and_failure(demo):
    assert _login(demo, "clerk", "wrong-password").status_code == 401
    assert _login(demo, "nobody", "wrong-password").status_code == 401
    assert _login(demo, "clerk", demo.users["clerk"]).status_code == 200
    failed = _events(demo, action="login.failed")
    assert [(e.target, e.detail["reason"]) for e in failed] == [
        ("clerk", "password"),
        ("nobody", "unknown user"),
    ]
    assert all(e.address == "testclient" for e in failed)
    assert "wrong-password" not in str([e.detail for e in failed])  # never the password
    (ok,) = _events(demo, action="login.success", target="clerk")
    assert ok.username == "clerk" and ok.detail["token"] > 0


def test_every_write_is_audited_with_who_what_and_the_changed_fields(demo):
    admin = demo.auth("admin")
    school = clerk_schools(demo)[0]
    before = demo.client.get(f"/api/v1/schools/{school}", headers=admin).json()
    body = {k: before[k] for k in ("unit", "ownership", "locality", "levels", "status")}
    body["name"] = before["name"] + " (renamed)"
    resp = demo.client.put(
        f"/api/v1/schools/{school}", json=body, headers={**admin, "X-Device-Id": "desk-7"}
    )
    assert resp.status_code == 200
    (ev,) = _events(demo, action="school.update", target=school)
    assert ev.username == "admin" and ev.token_id is not None
    assert ev.detail["fields"] == ["name"] and ev.device == "desk-7"
    assert ev.address == "testclient"

    # A push: one event per stored revision, naming the return as the API does.
    year = demo.result.years[1]
    item = {
        "id": str(uuid.uuid4()),
        "form": FORM,
        "form_version": 1,
        "year": year,
        "school": school,
        "base_revision": 0,
        "values": good_values(),
    }
    pushed = demo.client.post(
        "/api/v1/sync/push",
        json={"device_id": "lap-audit", "items": [item]},
        headers=demo.auth("clerk"),
    )
    assert pushed.json()["results"][0]["status"] == "applied"
    (rev,) = _events(demo, action="return.revise")
    assert rev.target == f"{FORM}/{year}/{school}" and rev.username == "clerk"
    assert rev.device == "lap-audit" and rev.detail["revision"] == 1
    assert rev.detail["push_id"] == item["id"]
    assert "values" not in rev.detail  # ids and counts, not the payload

    # Pushing it again changes nothing, so the trail gains nothing.
    again = demo.client.post(
        "/api/v1/sync/push",
        json={"device_id": "lap-audit", "items": [item]},
        headers=demo.auth("clerk"),
    )
    assert again.json()["results"][0]["status"] == "duplicate"
    assert len(_events(demo, action="return.revise")) == 1


def test_a_refused_write_leaves_no_audit_event(demo):
    admin = demo.auth("admin")
    with demo.factory() as s:
        before = s.scalar(select(func.count()).select_from(AuditRecord))
    bad = {"name": "x", "unit": "NO-SUCH-UNIT", "ownership": "public", "levels": []}
    assert demo.client.put("/api/v1/schools/DM-990009", json=bad, headers=admin).status_code
    with demo.factory() as s:
        after = s.scalar(select(func.count()).select_from(AuditRecord))
    assert after == before  # nothing of the refused write


def test_admins_read_the_trail_with_filters_and_paging(demo):
    for _ in range(3):
        _login(demo, "reviewer", "wrong-password")
    admin = demo.auth("admin")
    page = demo.client.get("/api/v1/audit?action=login.&limit=2", headers=admin)
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    assert body["items"][0]["id"] > body["items"][1]["id"]  # newest first
    rest = demo.client.get(
        f"/api/v1/audit?action=login.&limit=100&cursor={body['next_cursor']}", headers=admin
    ).json()
    seen = body["items"] + rest["items"]
    assert len({e["id"] for e in seen}) == len(seen) and rest["next_cursor"] is None
    assert sum(e["action"] == "login.failed" for e in seen) == 3
    only = demo.client.get(
        "/api/v1/audit?action=login.failed&target=reviewer", headers=admin
    ).json()
    assert len(only["items"]) == 3
    assert demo.client.get("/api/v1/audit", headers=demo.auth("analyst")).status_code == 403
    forged = demo.client.get("/api/v1/audit?cursor=eyJiIjoieCJ9", headers=admin)
    assert forged.status_code == 400


def test_the_cli_shows_the_trail(demo, monkeypatch):
    monkeypatch.setenv("EMIS_DATABASE_URL", demo.url)
    from app.cli.common import out

    monkeypatch.setattr(out, "width", 200)  # a table as wide as an administrator's terminal
    from app.core.config import get_settings

    get_settings.cache_clear()
    try:
        _login(demo, "clerk", "wrong-password")
        result = CliRunner().invoke(cli, ["audit", "--action", "login.failed"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "login.failed" in result.output and "clerk" in result.output


def test_failed_sign_ins_get_growing_delays_then_429(demo):
    for _ in range(LIMITS.free_per_user):
        assert _login(demo, "clerk", "wrong-password").status_code == 401
    # Past the free tries: the right password too must wait, with Retry-After.
    refused = _login(demo, "clerk", demo.users["clerk"])
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    first_wait = int(refused.headers["Retry-After"])
    assert 1 <= first_wait <= 2
    # Once the wait is over, one more failure doubles it.
    with demo.factory() as s:
        s.execute(
            update(AuditRecord)
            .where(AuditRecord.action == "login.failed")
            .values(at=utcnow() - timedelta(seconds=5))
        )
        s.commit()
    assert _login(demo, "clerk", "wrong-password").status_code == 401
    again = _login(demo, "clerk", "wrong-password")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 2 * first_wait
    # Other users are not held up by one user's failures.
    assert _login(demo, "reviewer", demo.users["reviewer"]).status_code == 200
    # Failures older than the window no longer count.
    with demo.factory() as s:
        s.execute(
            update(AuditRecord)
            .where(AuditRecord.action == "login.failed")
            .values(at=utcnow() - LIMITS.window - timedelta(seconds=1))
        )
        s.commit()
    assert _login(demo, "clerk", demo.users["clerk"]).status_code == 200


def test_one_address_trying_many_users_is_limited_too(demo):
    for n in range(LIMITS.free_per_address):
        assert _login(demo, f"guess{n}", "wrong-password").status_code == 401
    assert _login(demo, "guess-next", "wrong-password").status_code == 429


def test_tokens_keep_their_last_use_and_revocation_is_checked_on_every_call(demo):
    token = demo.token("clerk")
    h = {"Authorization": f"Bearer {token}"}
    with demo.factory() as s:
        s.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(days=3)))
        s.commit()
    assert demo.client.get("/api/v1/auth/me", headers=h).status_code == 200
    with demo.factory() as s:
        row = s.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
        assert row is not None and row.last_used_at is not None
        assert row.last_used_at > utcnow() - timedelta(minutes=1)
        s.execute(update(ApiToken).where(ApiToken.id == row.id).values(revoked_at=utcnow()))
        s.commit()
    assert demo.client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_emis_token_list_shows_the_last_use(demo, monkeypatch):
    monkeypatch.setenv("EMIS_DATABASE_URL", demo.url)
    from app.core.config import get_settings

    get_settings.cache_clear()
    try:
        demo.token("clerk")
        result = CliRunner().invoke(cli, ["token", "list", "--user", "clerk"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "last used" in result.output and "session" in result.output


def test_a_device_belongs_to_the_user_who_first_pushed_from_it(demo):
    year = demo.result.years[1]
    school = clerk_schools(demo)[0]

    def push(user: str, device: str):
        item = {
            "id": str(uuid.uuid4()),
            "form": FORM,
            "form_version": 1,
            "year": year,
            "school": school,
            "base_revision": 0,
            "values": good_values(),
        }
        return demo.client.post(
            "/api/v1/sync/push",
            json={"device_id": device, "items": [item]},
            headers=demo.auth(user),
        )

    assert push("clerk", "lap-owned").status_code == 200
    taken = push("admin", "lap-owned")
    assert taken.status_code == 403
    assert taken.json()["errors"][0]["code"] == "DEVICE_OF_ANOTHER_USER"
    assert len(_events(demo, action="return.revise")) == 1  # nothing stored for the taker
