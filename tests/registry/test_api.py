"""Registry over HTTP: the admin tree, schools, years, structure, population."""

from sqlalchemy import select

from app.registry.models import AdminUnit


def units_in_db(demo, under: str | None = None) -> set[str]:
    """Codes of the admin units stored (those at or below `under`), read from the database."""
    with demo.factory() as s:
        q = select(AdminUnit.code)
        if under:
            root = s.scalar(select(AdminUnit.path).where(AdminUnit.code == under))
            q = q.where(AdminUnit.path.startswith(root))
        return set(s.scalars(q))


def assert_tree_order(items: list[dict]) -> None:
    """Depth-first order: every unit comes right after its parent's subtree has begun, i.e. its
    parent is the nearest earlier unit one level up, and its path extends its parent's."""
    for i, unit in enumerate(items[1:], 1):
        above = [u for u in items[:i] if u["level"] == unit["level"] - 1]
        assert above, f"{unit['code']} comes before any unit above it"
        assert above[-1]["code"] == unit["parent"], (
            f"{unit['code']} is not in its parent's subtree ({unit['parent']})"
        )
        assert unit["path"] == above[-1]["path"] + [unit["code"]]


def test_units_below_a_region_in_tree_order(demo):
    admin = demo.auth("admin")
    page = demo.client.get("/api/v1/admin-units?under=DM-R02&limit=1000", headers=admin).json()
    districts = [u["code"] for u in page["items"] if u["level"] == 2]
    # A unit below the first district, with a code that sorts after everything: tree order must
    # put it right after that district, before the district's siblings.
    resp = demo.client.put(
        "/api/v1/admin-units/ZZ-ZONE",
        headers=admin,
        json={"name": "Zone", "level_name": "zone", "parent": districts[0]},
    )
    assert resp.status_code == 200, resp.text

    h = demo.auth("analyst")
    page = demo.client.get("/api/v1/admin-units?under=DM-R02&limit=1000", headers=h).json()
    items = page["items"]
    codes = [u["code"] for u in items]
    assert page["next_cursor"] is None
    assert set(codes) == units_in_db(demo, "DM-R02") and len(codes) == len(set(codes))
    assert len(districts) >= 2 and "ZZ-ZONE" in codes
    assert codes[0] == "DM-R02" and items[0]["path"] == ["DM", "DM-R02"]
    assert codes[1:3] == [districts[0], "ZZ-ZONE"]
    assert items[2]["level"] == 3 and items[2]["path"] == ["DM", "DM-R02", districts[0], "ZZ-ZONE"]
    assert_tree_order(items)
    district = items[3]
    assert district["path"] == ["DM", "DM-R02", district["code"]]
    assert district["parent"] == "DM-R02" and district["level"] == 2


def test_unit_listing_pages_without_gaps(demo):
    h = demo.auth("analyst")
    seen, cursor = [], None
    while True:
        url = "/api/v1/admin-units?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = demo.client.get(url, headers=h).json()
        seen += [u["code"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = demo.client.get("/api/v1/admin-units?limit=1000", headers=h).json()["items"]
    assert seen == [u["code"] for u in everything]
    assert len(seen) == len(set(seen)) and set(seen) == units_in_db(demo)
    assert_tree_order(everything)


def test_every_signed_in_user_may_read_admin_units(demo):
    """Admin units are reference data (names for pick lists), not area-restricted: a clerk reads
    another district's unit, unlike its schools, returns and population (see tests/auth)."""
    h = demo.auth("clerk")  # area DM-R01-D001
    resp = demo.client.get("/api/v1/admin-units/DM-R01-D002", headers=h)
    assert resp.status_code == 200 and resp.json()["parent"] == "DM-R01"
    assert demo.client.get("/api/v1/admin-units/NOPE", headers=h).status_code == 404
    assert demo.client.get("/api/v1/admin-units/DM-R01-D002").status_code == 401


def test_admin_moves_a_district_and_its_schools_follow(demo):
    h = demo.auth("admin")
    resp = demo.client.put(
        "/api/v1/admin-units/DM-R01-D003",
        headers=h,
        json={"name": "Moved", "level_name": "district", "parent": "DM-R02"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == ["DM", "DM-R02", "DM-R01-D003"]
    in_r2 = demo.client.get("/api/v1/schools?unit=DM-R02&limit=1000", headers=h).json()["items"]
    assert any(s["unit"] == "DM-R01-D003" for s in in_r2)
    in_r1 = demo.client.get("/api/v1/schools?unit=DM-R01&limit=1000", headers=h).json()["items"]
    assert not any(s["unit"] == "DM-R01-D003" for s in in_r1)


def test_admin_cannot_make_a_cycle(demo):
    h = demo.auth("admin")
    resp = demo.client.put(
        "/api/v1/admin-units/DM-R01",
        headers=h,
        json={"name": "Nord", "level_name": "region", "parent": "DM-R01-D001"},
    )
    assert resp.status_code == 422
    assert "cycle" in resp.json()["detail"]


def test_admin_creates_and_updates_a_school(demo):
    h = demo.auth("admin")
    body = {
        "name": "École Neuve",
        "unit": "DM-R01-D001",
        "ownership": "community",
        "locality": "rural",
        "levels": ["primary"],
    }
    created = demo.client.put("/api/v1/schools/DM-NEW-1", headers=h, json=body)
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "open"
    body["status"] = "closed"
    assert (
        demo.client.put("/api/v1/schools/DM-NEW-1", headers=h, json=body).json()["status"]
        == "closed"
    )
    clerk = demo.client.get("/api/v1/schools/DM-NEW-1", headers=demo.auth("clerk"))
    assert clerk.status_code == 200 and clerk.json()["name"] == "École Neuve"


def test_bad_school_names_the_field(demo):
    h = demo.auth("admin")
    resp = demo.client.put(
        "/api/v1/schools/DM-NEW-2",
        headers=h,
        json={"name": "X", "unit": "DM-R01-D001", "ownership": "goverment"},
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["path"] == "body.ownership"
    resp = demo.client.put(
        "/api/v1/schools/DM-NEW-2",
        headers=h,
        json={"name": "X", "unit": "NOWHERE", "ownership": "public"},
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["code"] == "UNKNOWN_UNIT"


def test_school_years_and_window(demo):
    h = demo.auth("clerk")
    years = demo.client.get("/api/v1/school-years", headers=h).json()
    assert [y["year"] for y in years] == list(demo.result.years)
    admin = demo.auth("admin")
    bad = demo.client.put(
        "/api/v1/school-years/2030",
        headers=admin,
        json={
            "label": "2030/31",
            "reference_date": "2030-11-15",
            "window_opens": "2030-10-01T00:00:00Z",
            "window_closes": "2030-01-01T00:00:00Z",
        },
    )
    assert bad.status_code == 422
    naive = demo.client.put(
        "/api/v1/school-years/2030",
        headers=admin,
        json={
            "label": "2030/31",
            "reference_date": "2030-11-15",
            "window_opens": "2030-10-01T00:00:00",
            "window_closes": "2031-01-01T00:00:00Z",
        },
    )
    assert naive.status_code == 422 and "time zone" in naive.text


def test_education_structure_and_population(demo):
    h = demo.auth("analyst")
    levels = demo.client.get("/api/v1/education-levels", headers=h).json()
    primary = next(lv for lv in levels if lv["code"] == "primary")
    assert (
        primary["entrance_age"] == 6 and primary["grades"][0] == "P1" and primary["duration"] == 6
    )
    year = demo.result.years[1]
    region = demo.client.get(f"/api/v1/population?unit=DM-R01&year={year}", headers=h).json()[
        "rows"
    ]
    districts = [
        demo.client.get(f"/api/v1/population?unit=DM-R01-D00{i}&year={year}", headers=h).json()[
            "rows"
        ]
        for i in range(1, 5)
    ]
    six_f = next(r["value"] for r in region if r["age"] == 6 and r["sex"] == "F")
    assert six_f == sum(
        r["value"] for d in districts for r in d if r["age"] == 6 and r["sex"] == "F"
    )
    assert six_f > 0


def test_renaming_an_admin_unit_is_stored(demo):
    h = demo.auth("admin")
    body = {"name": "Nord renamed", "level_name": "province", "parent": "DM"}
    resp = demo.client.put("/api/v1/admin-units/DM-R01", json=body, headers=h)
    assert resp.status_code == 200 and resp.json()["name"] == "Nord renamed"
    again = demo.client.get("/api/v1/admin-units/DM-R01", headers=h).json()
    assert (again["name"], again["level_name"]) == ("Nord renamed", "province")
