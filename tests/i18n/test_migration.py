"""Migration 1dd12a0a2d7d: findings stored as text become data, each only where the check
engine gives the very same finding again; the others keep their text. Readers see no change."""

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from app.core.db import make_engine
from app.core.migrate import alembic_config
from tests.sync.helpers import FORM, clerk_schools, good_values, item, push

REV = "1dd12a0a2d7d"
revisions = sa.table(
    "return_revision",
    sa.column("id", sa.Integer),
    sa.column("errors", sa.JSON),
    sa.column("warnings", sa.JSON),
)


def down_revision(url: str) -> str:
    down = ScriptDirectory.from_config(alembic_config(url)).get_revision(REV).down_revision
    assert isinstance(down, str)
    return down


def stored(url: str) -> dict[int, dict[str, list[dict[str, Any]]]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(revisions).order_by(revisions.c.id)).all()
    engine.dispose()
    return {r.id: {"errors": r.errors, "warnings": r.warnings} for r in rows}


def store(url: str, rid: int, errors: list[Any], warnings: list[Any]) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.update(revisions)
            .where(revisions.c.id == rid)
            .values(errors=errors, warnings=warnings)
        )
    engine.dispose()


def reads(demo: Any, schools: list[str], year: int, lang: str) -> list[Any]:
    """What a reader sees of the returns' findings: current return and every revision."""
    h = {**demo.auth("clerk"), "Accept-Language": lang}
    out = []
    for school in schools:
        url = f"/api/v1/returns/{FORM}/{year}/{school}"
        current = demo.client.get(url, headers=h).json()
        history = demo.client.get(url + "/history", headers=h).json()
        out.append((current["errors"], current["warnings"]))
        out.extend((r["errors"], r["warnings"]) for r in history["revisions"])
    return out


def reopen(demo: Any, year: int) -> None:
    admin = demo.auth("admin")
    y = demo.client.get(f"/api/v1/school-years/{year}", headers=admin).json()
    y["reopened_until"] = "2099-01-01T00:00:00Z"
    keep = ("label", "reference_date", "window_opens", "window_closes", "reopened_until")
    resp = demo.client.put(
        f"/api/v1/school-years/{year}", headers=admin, json={k: y[k] for k in keep}
    )
    assert resp.status_code == 200, resp.text


def test_text_findings_become_data_and_read_as_before(demo):
    earlier, year = demo.result.years[0], demo.result.years[1]
    school, second = clerk_schools(demo)[:2]
    reopen(demo, earlier)
    last_year = good_values(seed=1)
    for c in last_year["enrolment"]:
        c["value"] //= 2
    assert push(demo, [item(school, earlier, values=last_year)]).json()["results"][0]["status"] == (
        "applied"
    )
    too_many = good_values(seed=1)
    p1f = next(r for r in too_many["repeaters"] if r["grade"] == "P1" and r["sex"] == "F")
    p1f["value"] = 10_000
    first = push(demo, [item(school, year, values=too_many)], headers={"Accept-Language": "fr"})
    r = first.json()["results"][0]
    assert r["return_status"] == "invalid"
    assert {"ENROL_CHANGE", "COHORT_JUMP"} <= {w["code"] for w in r["warnings"]}
    bad = good_values(seed=2)
    bad["enrolment"].pop()  # a cell left out: ages no longer add up to the total
    push(demo, [item(second, year, values=bad)])
    push(demo, [item(second, year, base=1, seed=2)])
    before = {lang: reads(demo, [school, second], year, lang) for lang in ("en", "fr")}
    assert any(errors or warnings for errors, warnings in before["en"])

    # The database as it was before this migration: findings kept as text, in both languages.
    cfg = alembic_config(demo.url)
    command.downgrade(cfg, down_revision(demo.url))
    legacy = stored(demo.url)
    findings = [f for row in legacy.values() for f in row["errors"] + row["warnings"]]
    assert findings and all(
        "params" not in f and set(f["messages"]) == {"en", "fr"} for f in findings
    )
    # Older still: only the pusher's text; and a text today's engine no longer writes.
    rid, row = next(
        (rid, row)
        for rid, row in legacy.items()
        if row["errors"] and any(w["code"] == "ENROL_CHANGE" for w in row["warnings"])
    )
    oldest = {k: v for k, v in row["errors"][0].items() if k != "messages"}
    oldest["message"] = row["errors"][0]["messages"]["fr"]
    reworded = {
        **row["warnings"][0],
        "message": "An old wording",
        "messages": {"en": "An old wording", "fr": "Une ancienne formulation"},
    }
    store(demo.url, rid, [oldest, *row["errors"][1:]], [reworded, *row["warnings"][1:]])

    command.upgrade(cfg, "head")
    now = stored(demo.url)
    assert now.keys() == legacy.keys()
    for i, after in now.items():
        for kind in ("errors", "warnings"):
            assert [(f["code"], f["path"]) for f in after[kind]] == [
                (f["code"], f["path"]) for f in legacy[i][kind]
            ]
            assert all(set(f) == {"code", "path", "severity", "params"} for f in after[kind])
    kept = [
        f
        for row in now.values()
        for f in row["errors"] + row["warnings"]
        if f["params"].get("template") == "STORED_TEXT"
    ]
    assert kept == [
        {
            "code": reworded["code"],
            "path": reworded["path"],
            "severity": "warning",
            "params": {
                "template": "STORED_TEXT",
                "text": {"en": "An old wording", "fr": "Une ancienne formulation"},
            },
        }
    ]
    assert now[rid]["errors"][0]["params"]["template"] == "RULE_COMPARE"  # the pusher's text only
    # Checked again against last year's return, the plausibility warnings are data too.
    assert any(
        f["code"] == "ENROL_CHANGE" and "template" not in f["params"] for f in now[rid]["warnings"]
    )

    for lang, old_text in (("en", "An old wording"), ("fr", "Une ancienne formulation")):
        after = reads(demo, [school, second], year, lang)
        flat_before = [f for e, w in before[lang] for f in e + w]
        flat_after = [f for e, w in after for f in e + w]
        changed = [(b, a) for b, a in zip(flat_before, flat_after, strict=True) if b != a]
        assert changed and all(a["message"] == old_text for _, a in changed)
        assert all({**a, "message": b["message"]} == b for b, a in changed)


def test_offline_upgrade_is_a_no_op_that_says_so(db_url, capsys):
    command.upgrade(alembic_config(db_url), f"{down_revision(db_url)}:{REV}", sql=True)
    script = capsys.readouterr().out
    assert "-- 1dd12a0a2d7d (upgrade): stored findings are converted by the check engine" in script
    assert "emis db upgrade" in script
    assert "UPDATE return_revision" not in script
