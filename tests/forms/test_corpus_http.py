"""Every corpus case pushed through the real push endpoint gives the client's own findings, in
English and in French, with last year's return in the database where the case has one."""

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.core.principal import Principal
from app.core.uow import unit_of_work
from app.forms.service import FormCache
from app.registry.models import AdminUnit
from app.sync.push import push as push_use_case
from sync_client.checks import STANDARD_FORM_PATH, compile_form, load_definition_file
from tests.sync.helpers import clerk_schools, item, push

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))
CLIENT = compile_form(load_definition_file(STANDARD_FORM_PATH))  # the offline client's path


def seed_previous_year(demo: Any, school: str, year: int, values: dict[str, Any]) -> None:
    """Store last year's return as an administrator's bulk load (that year's window is closed)."""
    with unit_of_work(demo.db) as uow:
        s = uow.reader
        admin, unit = s.execute(
            select(User, AdminUnit)
            .join(AdminUnit, AdminUnit.id == User.admin_unit_id)
            .where(User.role == "admin", AdminUnit.level == 0)
            .limit(1)
        ).one()
        who = Principal(admin.id, admin.username, admin.role, unit.id, unit.code, unit.path, 0)
        (r,) = push_use_case(
            uow, who, "seed", [item(school, year, values=values)], FormCache(), enforce_window=False
        )
        assert r.status == "applied", r


@pytest.mark.parametrize("path", CORPUS, ids=[c.stem for c in CORPUS])
def test_case_over_http_matches_the_client(path: Path, demo):
    """A clerk pushing this return sees exactly the findings the offline client showed."""
    case = json.loads(path.read_text(encoding="utf-8"))
    current = demo.result.years[1]
    for lang, school in zip(("en", "fr"), clerk_schools(demo)[:2], strict=True):
        if case["previous"]:
            seed_previous_year(demo, school, current - 1, case["previous"])
        resp = push(
            demo, [item(school, current, values=case["values"])], headers={"Accept-Language": lang}
        )
        assert resp.status_code == 200, resp.text
        (r,) = resp.json()["results"]
        local = CLIENT.check(case["values"], case["previous"], lang)
        server = r["errors"] + r["warnings"]
        assert [f["code"] for f in server] == [f.code for f in local.errors + local.warnings]
        assert server == [f.as_dict() for f in local.errors + local.warnings]
        assert sorted({f["code"] for f in server}) == case["expect"], case["description"]
        if local.structure_errors:
            assert r["status"] == "rejected"
        else:
            assert (r["status"], r["return_status"]) == (
                "applied",
                "invalid" if local.rule_errors else "submitted",
            )


def test_push_honours_accept_language_quality(demo):
    """A browser preferring German, then French, gets French messages."""
    case = json.loads((CORPUS[0].parent / "15_more_repeaters_than_pupils.json").read_text())
    school = clerk_schools(demo)[0]
    resp = push(
        demo,
        [item(school, demo.result.years[1], values=case["values"])],
        headers={"Accept-Language": "de-DE, de;q=0.95, fr-CA;q=0.9, en;q=0.5"},
    )
    (r,) = resp.json()["results"]
    local = CLIENT.check(case["values"], None, "fr")
    assert r["errors"] == [f.as_dict() for f in local.rule_errors]
    assert r["errors"][0]["message"].startswith("Plus de redoublants que d'élèves")


def test_push_item_schema_still_describes_values_as_an_object():
    """The push item's schema tells integrators that `values` is an object of element codes."""
    from app.sync.schemas import PushItem

    schema = PushItem.model_json_schema()
    assert schema["properties"]["values"]["type"] == "object"
    assert "values" in schema["required"]
