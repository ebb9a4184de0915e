"""GET /api/v1/sync/pull: paging, resume, area, deletions, 410, devices."""

from sqlalchemy import func, select

from app.auth.models import User
from app.sync.models import Device
from tests.sync.helpers import FORM, clerk_schools, item, push


def pull_all(demo, user="clerk", limit=50, cursor=None):
    changes, pages = [], 0
    while True:
        url = f"/api/v1/sync/pull?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        resp = demo.client.get(url, headers=demo.auth(user))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        changes += body["changes"]
        cursor = body["cursor"]
        pages += 1
        if not body["has_more"]:
            return changes, cursor, pages


def test_first_pull_gives_what_the_clerk_may_see(demo):
    changes, _cursor, pages = pull_all(demo, limit=7)
    assert pages > 1
    by_type: dict[str, list[str]] = {}
    for c in changes:
        by_type.setdefault(c["type"], []).append(c["key"])
    assert sorted(by_type["school"]) == sorted(clerk_schools(demo))
    assert set(by_type["admin_unit"]) == {"DM", "DM-R01", "DM-R01-D001"}
    assert by_type["form"] == ["annual_school_census/1", "annual_school_census/2"]
    assert sorted(by_type["school_year"]) == sorted(str(y) for y in demo.result.years)
    assert len(changes) == len({(c["type"], c["key"]) for c in changes})


def test_resume_from_cursor_gives_only_new_changes_with_status(demo):
    _, cursor, _ = pull_all(demo)
    year = demo.result.years[1]
    school = clerk_schools(demo)[0]
    push(demo, [item(school, year)])
    changes, cursor2, _ = pull_all(demo, cursor=cursor)
    assert [(c["type"], c["key"], c["op"]) for c in changes] == [
        ("return", f"{FORM}/{year}/{school}", "upsert")
    ]
    data = changes[0]["data"]
    assert data["revision"] == 1 and data["status"] == "submitted" and "warnings" in data
    assert pull_all(demo, cursor=cursor2)[0] == []


def test_other_districts_returns_are_not_pulled(demo):
    _, cursor, _ = pull_all(demo)
    other = clerk_schools(demo, "clerk2")[0]
    push(demo, [item(other, demo.result.years[1])], user="clerk2")
    assert pull_all(demo, cursor=cursor)[0] == []
    assert len(pull_all(demo, user="clerk2", cursor=None)[0]) > 0


def test_a_deleted_school_travels_as_a_delete(demo):
    _, cursor, _ = pull_all(demo)
    admin = demo.auth("admin")
    demo.client.put(
        "/api/v1/schools/DM-TMP-1",
        headers=admin,
        json={"name": "Temporary", "unit": "DM-R01-D001", "ownership": "public"},
    )
    assert demo.client.delete("/api/v1/schools/DM-TMP-1", headers=admin).status_code == 204
    changes, _, _ = pull_all(demo, cursor=cursor)
    assert [(c["type"], c["key"], c["op"], c["data"]) for c in changes] == [
        ("school", "DM-TMP-1", "delete", None)
    ]


def test_unusable_cursor_is_410(demo):
    for bad in ("garbage", "eyJlIjoieCIsInMiOjF9"):  # the second: another server's epoch
        resp = demo.client.get(f"/api/v1/sync/pull?cursor={bad}", headers=demo.auth("clerk"))
        assert resp.status_code == 410
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_cursor_from_the_future_is_410(demo):
    _, cursor, _ = pull_all(demo)
    import base64
    import json

    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["s"] += 1000
    future = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    assert (
        demo.client.get(
            f"/api/v1/sync/pull?cursor={future}", headers=demo.auth("clerk")
        ).status_code
        == 410
    )


def _device(demo, device_id: str) -> Device | None:
    with demo.factory() as s:
        return s.get(Device, device_id)


def _pull_as(demo, headers: dict[str, str]):
    return demo.client.get("/api/v1/sync/pull?limit=1", headers={**demo.auth("clerk"), **headers})


def test_a_pull_writes_no_device_even_with_a_device_header(demo):
    """A read does not write: X-Device-Id on a pull neither registers a device nor hands an
    existing one to the caller."""
    assert _pull_as(demo, {"X-Device-Id": "lap-9"}).status_code == 200
    assert _device(demo, "lap-9") is None
    with demo.factory() as s:
        admin_id = s.scalar(select(User.id).where(User.username == "admin"))
        s.add(Device(device_id="lap-admin", user_id=admin_id))
        s.commit()
    assert _pull_as(demo, {"X-Device-Id": "lap-admin"}).status_code == 200
    owned = _device(demo, "lap-admin")
    assert owned is not None and owned.user_id == admin_id


def test_pull_without_device_id_records_no_device(demo):
    with demo.factory() as s:
        before = s.scalar(select(func.count()).select_from(Device))
    assert _pull_as(demo, {}).status_code == 200
    with demo.factory() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == before
