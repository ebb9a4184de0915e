"""Real uvicorn with two worker processes on PostgreSQL: races are settled by the database."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.sync.helpers import good_values

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]


@pytest.fixture
def server(pg_factory, tmp_path):
    from tests.conftest import _build_demo
    from tests.servers import running_server

    url = pg_factory.copy(pg_factory.template("demo", _build_demo))
    # Its log goes to a file and it runs in its own process group: a server that fails to
    # start is reported with its log, and never leaves the suite waiting on a pipe.
    with running_server(url, tmp_path / "server", workers=2) as srv:
        yield srv.base
    pg_factory.drop(url)


def _login(base: str, user: str, password: str) -> dict[str, str]:
    token = httpx.post(
        base + "/api/v1/auth/token", data={"username": user, "password": password}
    ).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _demo_passwords(pg_factory) -> dict[str, str]:
    from tests.conftest import passwords

    return passwords(pg_factory.built["demo"])


def test_two_devices_racing_from_the_same_base_one_wins_every_time(server, pg_factory):
    pw = _demo_passwords(pg_factory)
    headers = _login(server, "clerk", pw["clerk"])
    with httpx.Client(base_url=server, headers=headers, timeout=30) as c:
        school = c.get("/api/v1/schools?limit=1").json()["items"][0]["code"]
        year = max(y["year"] for y in c.get("/api/v1/school-years").json())
    rounds = 25
    base = 0

    def send(device: str, seed: int):
        it = {
            "id": str(uuid.uuid4()),
            "form": "annual_school_census",
            "form_version": 1,
            "year": year,
            "school": school,
            "base_revision": base,
            "values": good_values(seed),
        }
        with httpx.Client(base_url=server, headers=headers, timeout=30) as c:
            r = c.post("/api/v1/sync/push", json={"device_id": device, "items": [it]})
        assert r.status_code == 200, r.text
        return r.json()["results"][0]

    with ThreadPoolExecutor(2) as pool:
        for n in range(rounds):
            a, b = pool.map(lambda args: send(*args), [("dev-a", 2 * n), ("dev-b", 2 * n + 1)])
            statuses = sorted([a["status"], b["status"]])
            assert statuses == ["applied", "conflict"], (n, a, b)
            winner = a if a["status"] == "applied" else b
            assert winner["revision"] == base + 1
            base += 1
    with httpx.Client(base_url=server, headers=headers) as c:
        hist = c.get(f"/api/v1/returns/annual_school_census/{year}/{school}/history").json()
    assert [r["revision"] for r in hist["revisions"]] == list(range(1, rounds + 1))


def test_the_same_push_id_sent_at_once_is_applied_once(server, pg_factory):
    pw = _demo_passwords(pg_factory)
    headers = _login(server, "admin", pw["admin"])  # a national user: every school
    with httpx.Client(base_url=server, headers=headers, timeout=30) as c:
        schools = [s["code"] for s in c.get("/api/v1/schools?limit=100").json()["items"]]
        year = max(y["year"] for y in c.get("/api/v1/school-years").json())
    for n, school in enumerate(schools[:40]):
        it = {
            "id": str(uuid.uuid4()),
            "form": "annual_school_census",
            "form_version": 1,
            "year": year,
            "school": school,
            "base_revision": 0,
            "values": good_values(n),
        }

        def send(_, it=it):
            with httpx.Client(base_url=server, headers=headers, timeout=30) as c:
                r = c.post("/api/v1/sync/push", json={"device_id": "dev-a", "items": [it]})
            assert r.status_code == 200, r.text
            return r.json()["results"][0]

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(send, range(4)))
        assert sorted(r["status"] for r in results) == ["applied"] + ["duplicate"] * 3, results
        assert {r["revision"] for r in results} == {1}
