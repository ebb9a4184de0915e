"""GET /metrics: push results by status, latency, returns by status, oldest device."""

from datetime import timedelta

from sqlalchemy import update

from app.core.types import utcnow
from app.sync.models import Device
from tests.sync.helpers import clerk_schools, item, push

OLDEST = "emis_oldest_device_push_age_seconds"


def sample(text: str, name: str) -> float | None:
    """The value of one series, e.g. 'emis_returns{status="submitted"}'; None when absent."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series == name:
            return float(value)
    return None


def scrape(demo) -> str:
    resp = demo.client.get("/metrics", headers=demo.auth("admin"))
    assert resp.status_code == 200
    return resp.text


def test_metrics_need_an_administrator_or_the_scrape_token(demo, monkeypatch):
    assert demo.client.get("/metrics").status_code == 401
    assert demo.client.get("/metrics", headers=demo.auth("clerk")).status_code == 403
    assert demo.client.get("/metrics", headers=demo.auth("analyst")).status_code == 403
    settings = demo.client.app.state.settings
    monkeypatch.setattr(settings, "metrics_token", "scrape-" + "x" * 40)
    scraper = {"Authorization": "Bearer scrape-" + "x" * 40}
    assert demo.client.get("/metrics", headers=scraper).status_code == 200
    wrong = {"Authorization": "Bearer scrape-" + "y" * 40}
    assert demo.client.get("/metrics", headers=wrong).status_code == 401


def test_metrics_follow_pushes(demo):
    year = demo.result.years[1]
    before = scrape(demo)
    applied_before = sample(before, 'emis_push_items_total{status="applied"}') or 0.0
    rejected_before = sample(before, 'emis_push_items_total{status="rejected"}') or 0.0
    pushes_before = sample(before, "emis_push_seconds_count") or 0.0
    assert sample(before, 'emis_returns{status="submitted"}') is None  # no returns yet
    s1, s2 = clerk_schools(demo)[:2]
    push(demo, [item(s1, year), item("NOPE", year)])
    push(demo, [item(s2, year)], device="laptop-2")
    text = scrape(demo)
    assert sample(text, 'emis_push_items_total{status="applied"}') == applied_before + 2
    assert sample(text, 'emis_push_items_total{status="rejected"}') == rejected_before + 1
    assert sample(text, 'emis_returns{status="submitted"}') == 2
    assert sample(text, "emis_push_seconds_count") == pushes_before + 2
    assert "emis_pull_seconds" in text


def test_oldest_device_gauge_tracks_the_least_recent_pusher(demo):
    # No device has pushed yet: the gauge is there and reads 0.
    assert sample(scrape(demo), OLDEST) == 0.0
    year = demo.result.years[1]
    s1, s2 = clerk_schools(demo)[:2]
    push(demo, [item(s1, year)], device="laptop-1")
    push(demo, [item(s2, year)], device="laptop-2")
    fresh = sample(scrape(demo), OLDEST)
    assert fresh is not None and 0 <= fresh < 60  # both just pushed

    # laptop-1 last pushed an hour ago: it is now the oldest, and the gauge says so.
    with demo.factory() as s:
        s.execute(
            update(Device)
            .where(Device.device_id == "laptop-1")
            .values(last_push_at=utcnow() - timedelta(hours=1))
        )
        s.commit()
    stale = sample(scrape(demo), OLDEST)
    assert stale is not None and 3600 <= stale < 3660

    # It pushes again: the oldest is recent once more.
    push(demo, [item(s1, year, base=1, seed=2)], device="laptop-1")
    again = sample(scrape(demo), OLDEST)
    assert again is not None and 0 <= again < 60


def test_a_device_is_noted_at_most_once_a_minute(demo):
    """A device's last push is kept to the minute: a second push within it writes no device
    row, one more than a minute later moves it."""
    year = demo.result.years[1]
    s1, s2, s3 = clerk_schools(demo)[:3]

    def last_push():
        with demo.factory() as s:
            return s.get(Device, "laptop-9").last_push_at

    push(demo, [item(s1, year)], device="laptop-9")
    first = last_push()
    assert first is not None
    push(demo, [item(s2, year)], device="laptop-9")
    assert last_push() == first  # within the minute: not written again

    earlier = utcnow() - timedelta(seconds=90)
    with demo.factory() as s:
        s.execute(update(Device).where(Device.device_id == "laptop-9").values(last_push_at=earlier))
        s.commit()
    push(demo, [item(s3, year)], device="laptop-9")
    assert last_push() > earlier + timedelta(seconds=80)
