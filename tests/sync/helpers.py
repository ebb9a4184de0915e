"""Building push items for tests."""

import random
import uuid
from typing import Any

from app.demo.returns import school_values, standard_age_code

FORM = "annual_school_census"


def school_levels(demo: Any, code: str) -> list[str]:
    resp = demo.client.get(f"/api/v1/schools/{code}", headers=demo.auth("admin"))
    return resp.json()["levels"]


def clerk_schools(demo: Any, user: str = "clerk") -> list[str]:
    page = demo.client.get("/api/v1/schools?limit=1000", headers=demo.auth(user)).json()
    return [s["code"] for s in page["items"]]


def good_values(seed: int = 1, levels: list[str] | None = None) -> dict[str, Any]:
    return school_values(random.Random(seed), levels or ["primary"], standard_age_code)


def item(
    school: str,
    year: int,
    base: int = 0,
    values: dict[str, Any] | None = None,
    item_id: str | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    return {
        "id": item_id or str(uuid.uuid4()),
        "form": FORM,
        "form_version": 1,
        "year": year,
        "school": school,
        "base_revision": base,
        "values": values or good_values(seed),
        "captured_at": "2026-03-02T10:15:00+00:00",
    }


def push(
    demo: Any,
    items: list[dict[str, Any]],
    user: str = "clerk",
    device: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Push as `user`, from their own laptop unless `device` says which (a device belongs to
    the user who first pushed from it)."""
    device = device or f"laptop-{user}"
    h = {**demo.auth(user), **(headers or {})}
    return demo.client.post(
        "/api/v1/sync/push", json={"device_id": device, "items": items}, headers=h
    )


def cells(values: dict[str, Any]) -> dict[str, Any]:
    """Values as a user compares them: the same cells whatever their order (the server stores
    them in one canonical order)."""
    out: dict[str, Any] = {}
    for code, v in values.items():
        if isinstance(v, list):
            out[code] = sorted(tuple(sorted((k, str(x)) for k, x in c.items())) for c in v)
        else:
            out[code] = v
    return out
