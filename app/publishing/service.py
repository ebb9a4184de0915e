"""Releases: a year's figures from approved returns, frozen as numbered, immutable snapshots.

Making a release computes, from every approved (or already locked) return of the form and year,
the one-year indicators at every admin level (total and by sex), the flow indicators whose
outcome year is this year, and the main aggregates (enrolment and repeaters by grade and sex,
teachers by sex); it stores them with the list of returns (school, revision) they came from and
a digest, and locks those returns (DOMAIN.md: `locked` once published; a correction needs an
administrator to reopen the return, a new revision, approval, then a new release). A release
row is written once: nothing updates it, so release 1 reads the same byte for byte after release
2 exists. Readers see the rows of their area only."""

import hashlib
import re
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.audit import note_audit
from app.core.changelog import Change, note_changes
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.principal import Principal
from app.core.uow import UnitOfWork
from app.indicators import compute
from app.indicators import service as figures
from app.publishing import exports, webhooks
from app.publishing.models import Dhis2Mapping, Release
from app.registry.service import all_units, get_year, open_schools_under, years_by_number
from app.returns.service import ReturnStatus, approved_revisions, change_status

STATUSES = ("approved", "locked")
AGGREGATES = {"enrolment": ("grade", "sex"), "repeaters": ("grade", "sex"), "teachers": ("sex",)}


def _national(session: Session, user: Principal) -> Principal:
    """The caller as seen from the root of the tree (a release is the nation's)."""
    units = all_units(session)
    root = min(units, key=lambda u: u.level)
    if user.unit_path != root.path:
        raise Forbidden(
            f"A release is the nation's: only analysts and administrators whose area is "
            f"{root.code} make one (yours is {user.unit_code})."
        )
    return replace(user, unit_id=root.id, unit_code=root.code, unit_path=root.path)


def _levels(session: Session) -> tuple[int, ...]:
    return tuple(sorted({u.level for u in all_units(session)}))


def compute_figures(session: Session, user: Principal, form: str, year: int) -> dict[str, Any]:
    """Every figure a release holds, from approved and locked returns only."""
    levels = _levels(session)
    one_year = figures.IndicatorQuery(
        year=year,
        levels=levels,
        unit=None,
        indicators=compute.ONE_YEAR_CODES,
        education_levels=None,
        by=(),
        statuses=STATUSES,
        form=form,
        cap=None,
        ownership=None,
        locality=None,
        lang="en",
    )
    rows = list(figures.indicators(session, user, one_year).data["rows"])
    by_sex = tuple(code for code in compute.ONE_YEAR_CODES if code in compute.BY_SEX)
    rows += figures.indicators(
        session, user, replace(one_year, indicators=by_sex, by=("sex",))
    ).data["rows"]
    if year - 1 in years_by_number(session):
        flows = replace(one_year, year=year - 1, indicators=compute.FLOW_CODES)
        rows += figures.indicators(session, user, flows).data["rows"]
    aggregates: dict[str, list[dict[str, Any]]] = {}
    for element, by in AGGREGATES.items():
        q = figures.AggregateQuery(
            year=year,
            levels=levels,
            unit=None,
            element=element,
            by=by,
            statuses=STATUSES,
            form=form,
            ownership=None,
            locality=None,
        )
        try:
            aggregates[element] = list(figures.aggregates(session, user, q).data["rows"])
        except InvalidInput:
            continue  # a form without this element
    return {"indicators": rows, "aggregates": aggregates}


def _digest(figs: dict[str, Any], returns: list[Any]) -> str:
    raw = orjson.dumps({"figures": figs, "returns": returns}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()


def create_release(
    uow: UnitOfWork, user: Principal, *, form: str, year: int, note: str = ""
) -> Release:
    """Make the next release of a form and year (see the module's docstring)."""
    session = uow.session
    get_year(session, year)
    nation = _national(session, user)
    approved = approved_revisions(session, form, year)
    if not approved:
        raise Conflict(
            f"No approved {form} return for {year}: approve returns before releasing figures.",
            [{"code": "NOTHING_APPROVED", "path": "year", "message": str(year)}],
        )
    figs = compute_figures(session, nation, form, year)
    figs["coverage"] = {
        "returns": len(approved),
        "schools_expected": len(open_schools_under(session, nation.unit_path)),
        "approved_at_the_top": sum(a.approved_level == 0 for a in approved),
    }
    returns = [[a.school, a.revision] for a in approved]
    digest = _digest(figs, returns)
    last = session.scalar(
        select(Release)
        .where(col(Release.form_code) == form, col(Release.year) == year)
        .order_by(col(Release.number).desc())
        .limit(1)
    )
    if last is not None and last.digest == digest:
        raise Conflict(
            f"Release {last.number} of {form} {year} already holds exactly these figures; "
            "nothing changed since."
        )
    number = (
        session.scalar(
            select(func.max(col(Release.number))).where(
                col(Release.form_code) == form, col(Release.year) == year
            )
        )
        or 0
    ) + 1
    release = Release(
        form_code=form,
        year=year,
        number=number,
        created_at=uow.now,
        created_by=user.user_id,
        note=note,
        digest=digest,
        figures=figs,
        returns=returns,
    )
    session.add(release)
    to_lock = [a for a in approved if a.status == ReturnStatus.APPROVED]
    for a in to_lock:
        change_status(
            session,
            a.id,
            ReturnStatus.LOCKED,
            by=user.user_id,
            at=uow.now,
            comment=f"Published in release {number}.",
            approved_level=a.approved_level,
        )
    note_changes(
        session,
        [Change("return", f"{form}/{year}/{a.school}", "upsert", a.unit_path) for a in to_lock],
    )
    session.flush()
    notified = webhooks.enqueue(
        session, "release.published", webhooks.release_body(release), uow.now
    )
    note_audit(
        session,
        "release.create",
        f"{form}/{year}/{number}",
        id=release.id,
        returns=len(approved),
        locked=len(to_lock),
        digest=digest[:16],
        subscribers=notified,
    )
    return release


def _in_area(session: Session, user: Principal) -> set[str]:
    return {u.code for u in all_units(session) if u.path.startswith(user.unit_path)}


def list_releases(session: Session, form: str | None, year: int | None) -> list[Release]:
    q = select(Release).order_by(col(Release.year), col(Release.form_code), col(Release.number))
    if form:
        q = q.where(col(Release.form_code) == form)
    if year:
        q = q.where(col(Release.year) == year)
    return list(session.scalars(q))


def get_release(session: Session, release_id: int) -> Release:
    found = session.get(Release, release_id)
    if found is None:
        raise NotFound(f"No release {release_id}.")
    return found


def rows_for(session: Session, user: Principal, release: Release) -> dict[str, Any]:
    """The release's figures, only the rows of units in the caller's area."""
    mine = _in_area(session, user)
    figs = release.figures
    return {
        "coverage": figs.get("coverage", {}),
        "indicators": [r for r in figs["indicators"] if r["unit"] in mine],
        "aggregates": {
            e: [r for r in rows if r["unit"] in mine] for e, rows in figs["aggregates"].items()
        },
    }


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["unit"],
        row.get("indicator"),
        row.get("education_level"),
        row.get("base_year"),
        tuple(sorted((row.get("disaggregation") or {}).items())),
    )


def compare(session: Session, user: Principal, release: Release) -> dict[str, Any]:
    """What changed since the previous release of the same form and year, by unit and
    indicator (values that differ, appear or disappear)."""
    previous = session.scalar(
        select(Release)
        .where(
            col(Release.form_code) == release.form_code,
            col(Release.year) == release.year,
            col(Release.number) < release.number,
        )
        .order_by(col(Release.number).desc())
        .limit(1)
    )
    now = {_key(r): r for r in rows_for(session, user, release)["indicators"]}
    before = (
        {_key(r): r for r in rows_for(session, user, previous)["indicators"]} if previous else {}
    )
    changes = []
    for key in sorted(set(now) | set(before), key=repr):
        a, b = before.get(key), now.get(key)
        va = a.get("value") if a else None
        vb = b.get("value") if b else None
        if a is not None and b is not None and va == vb:
            continue
        row = b or a
        assert row is not None
        changes.append(
            {
                "unit": row["unit"],
                "indicator": row["indicator"],
                "education_level": row.get("education_level"),
                "disaggregation": row.get("disaggregation") or {},
                "before": va,
                "after": vb,
            }
        )
    old_returns = {s: r for s, r in previous.returns} if previous else {}
    new_returns = {s: r for s, r in release.returns}
    return {
        "release": release.number,
        "previous": previous.number if previous else None,
        "changes": changes,
        "returns_changed": sorted(
            s
            for s in set(old_returns) | set(new_returns)
            if old_returns.get(s) != new_returns.get(s)
        ),
    }


# ---------------------------------------------------------------- DHIS2 mapping

DHIS2_UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")


def load_dhis2_mapping(uow: UnitOfWork, rows: list[dict[str, str]]) -> int:
    """Replace the DHIS2 mapping, all or nothing. Each row: kind (value | org_unit | data_set),
    source (a figure key, a unit code, or `default`), dhis2_id, category_option_combo."""
    errors = []
    clean: dict[tuple[str, str], Dhis2Mapping] = {}
    for n, r in enumerate(rows, 2):
        kind = (r.get("kind") or "").strip()
        source = (r.get("source") or "").strip()
        uid = (r.get("dhis2_id") or "").strip()
        combo = (r.get("category_option_combo") or "").strip() or None
        if kind not in ("value", "org_unit", "data_set"):
            errors.append({"code": "BAD_KIND", "path": f"line {n}", "message": kind[:40]})
        elif not source or len(source) > 200:
            errors.append({"code": "BAD_SOURCE", "path": f"line {n}", "message": source[:40]})
        elif not DHIS2_UID.match(uid) or (combo and not DHIS2_UID.match(combo)):
            errors.append(
                {"code": "BAD_DHIS2_UID", "path": f"line {n}", "message": f"{uid} {combo or ''}"}
            )
        elif (kind, source) in clean:
            errors.append({"code": "DUPLICATE", "path": f"line {n}", "message": source[:40]})
        else:
            clean[(kind, source)] = Dhis2Mapping(
                kind=kind, source=source, dhis2_id=uid, category_option_combo=combo
            )
    if errors:
        raise InvalidInput(f"{len(errors)} bad line(s) in the DHIS2 mapping.", errors[:200])
    if not any(k == "data_set" for k, _ in clean):
        raise InvalidInput(
            "The mapping names no data set: add a line `data_set,default,<uid>,`.",
            [{"code": "NO_DATA_SET", "path": "kind", "message": "data_set"}],
        )
    session = uow.session
    session.execute(delete(Dhis2Mapping))
    session.add_all(clean.values())
    session.flush()
    note_audit(session, "dhis2.mapping", "*", rows=len(clean))
    return len(clean)


def dhis2_export(
    session: Session, user: Principal, release: Release
) -> tuple[dict[str, Any], list[str]]:
    """The release (rows of the caller's area) as a DHIS2 dataValueSet, and what the mapping
    missed."""
    rows = list(session.scalars(select(Dhis2Mapping)))
    data_set = next((m.dhis2_id for m in rows if m.kind == "data_set"), None)
    if data_set is None:
        raise Conflict(
            "No DHIS2 mapping is loaded: load one with `emis publish dhis2-mapping FILE.csv`."
        )
    values = {m.source: (m.dhis2_id, m.category_option_combo) for m in rows if m.kind == "value"}
    org_units = {m.source: m.dhis2_id for m in rows if m.kind == "org_unit"}
    return exports.dhis2_data_value_set(
        rows_for(session, user, release),
        release.year,
        data_set=data_set,
        values=values,
        org_units=org_units,
        root=user.unit_code,
    )
