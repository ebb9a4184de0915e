"""GET /metrics: push results by status, latency, returns by status, oldest device."""

from tests.sync.helpers import clerk_schools, item, push


def sample(text: str, name: str) -> float:
    """The value of one series, e.g. 'emis_returns{status="submitted"}' (0 when absent)."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series == name:
            return float(value)
    return 0.0


def test_metrics_follow_pushes(demo):
    year = demo.result.years[1]
    before = demo.client.get("/metrics").text
    applied_before = sample(before, 'emis_push_items_total{status="applied"}')
    s1, s2 = clerk_schools(demo)[:2]
    push(demo, [item(s1, year), item("NOPE", year)])
    push(demo, [item(s2, year)], device="laptop-2")
    text = demo.client.get("/metrics").text
    assert sample(text, 'emis_push_items_total{status="applied"}') == applied_before + 2
    assert sample(text, 'emis_push_items_total{status="rejected"}') >= 1
    assert sample(text, 'emis_returns{status="submitted"}') == 2
    assert sample(text, "emis_push_seconds_count") >= 2
    assert sample(text, "emis_oldest_device_push_age_seconds") >= 0
    assert "emis_pull_seconds" in text
