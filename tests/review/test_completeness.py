"""Completeness and timeliness per unit equal a direct count from the returns table."""

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy import text

from tests.review.conftest import DISTRICT
from tests.sync.helpers import FORM

# Straight from the tables, the way an auditor would count: open schools, and their returns.
COUNT = """
SELECT u.code,
       count(DISTINCT s.id) AS expected,
       count(DISTINCT r.id) AS received,
       count(DISTINCT CASE WHEN r.status = 'invalid' THEN r.id END) AS invalid
FROM admin_unit u
JOIN admin_unit below ON below.path LIKE u.path || '%'
JOIN school s ON s.admin_unit_id = below.id AND s.status = 'open'
LEFT JOIN census_return r ON r.school_id = s.id AND r.form_code = :form AND r.year = :year
WHERE u.level = 2 AND u.path LIKE (SELECT path FROM admin_unit WHERE code = 'DM-R01') || '%'
GROUP BY u.code ORDER BY u.code
"""


def test_completeness_equals_a_direct_count(demo, ladder):
    year = ladder["year"]
    h = ladder["h"]("rev_r")
    resp = demo.client.get(
        f"/api/v1/completeness?year={year}&level=2&unit=DM-R01&missing=true", headers=h
    )
    assert resp.status_code == 200, resp.text
    rows = {r["unit"]: r for r in resp.json()["rows"]}
    with demo.factory() as s:
        direct = s.execute(text(COUNT), {"form": FORM, "year": year}).all()
    assert {code for code, *_ in direct} == set(rows)
    for code, expected, received, invalid in direct:
        row = rows[code]
        assert (row["expected"], row["received"], row["invalid"]) == (expected, received, invalid)
        assert row["valid"] == received - invalid
        assert row["on_time"] + row["late"] == received
        assert len(row["missing"]) == expected - received - row["excused"]
    mine = rows[DISTRICT]
    assert mine["received"] == mine["expected"] == len(ladder["schools"])
    assert mine["reporting_rate"] == 100.0 and mine["invalid"] == 1 and mine["missing"] == []
    other = next(r for c, r in rows.items() if c != DISTRICT)
    assert other["received"] == 0 and other["reporting_rate"] == 0.0
    assert len(other["missing"]) == other["expected"]


def test_a_return_first_received_after_the_window_is_late(demo, ladder):
    year = ladder["year"]
    h = ladder["h"]("rev_d")
    late_school = ladder["schools"][0]
    window = demo.client.get(f"/api/v1/school-years/{year}", headers=h).json()
    with demo.factory() as s:
        s.execute(
            text(
                "UPDATE return_revision SET received_at = :t WHERE return_id = "
                "(SELECT r.id FROM census_return r JOIN school s ON s.id = r.school_id "
                "WHERE s.code = :code AND r.year = :year)"
            ),
            {
                "t": datetime.fromisoformat(window["window_closes"]) + timedelta(days=3),
                "code": late_school,
                "year": year,
            },
        )
        s.commit()
    (row,) = demo.client.get(
        f"/api/v1/completeness?year={year}&level=2&unit={DISTRICT}", headers=h
    ).json()["rows"]
    assert (row["on_time"], row["late"]) == (len(ladder["schools"]) - 1, 1)
    assert row["on_time_rate"] == round(100 * row["on_time"] / row["expected"], 1)


def test_completeness_as_csv_and_inside_the_area_only(demo, ladder):
    year = ladder["year"]
    h = ladder["h"]("rev_d")
    resp = demo.client.get(
        f"/api/v1/completeness?year={year}&level=2&unit={DISTRICT}&format=csv&missing=true",
        headers=h,
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(resp.text)))
    assert row["unit"] == DISTRICT and int(row["received"]) == len(ladder["schools"])
    outside = demo.client.get(f"/api/v1/completeness?year={year}&level=2&unit=DM-R02", headers=h)
    assert outside.status_code == 403
    assert demo.client.get("/api/v1/completeness?year=1901", headers=h).status_code == 404
