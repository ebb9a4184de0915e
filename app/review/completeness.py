"""Completeness and timeliness of a year's census, per admin unit.

Definitions (stated in the API's documentation too):
- expected: open schools of the unit (and below);
- received: expected schools with a return of the form and year, whatever its status;
- valid: received returns whose current revision passes the checks (status other than
  `invalid`); approved: status `approved` (at any rung) or `locked`; invalid, returned: by status;
- excused: expected schools without a return that a reviewer excused, with a reason;
- on time / late: received returns whose first revision arrived before / after the census window
  closed (a later correction does not make a return late);
- rates are of expected schools: reporting rate = received / expected, on-time rate = on time /
  expected (DHIS2's "reporting rate" and "reporting rate on time"); null where none is expected.

DHIS2 counts a data set's expected reports per org unit and period, and a report as timely
when completed before a number of days after the period ends; here the census window's closing
time plays that part, and excused schools stay in `expected` (they are shown, not hidden), so
a district that excuses many schools shows it."""

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.core.principal import Principal
from app.registry.service import all_units, area_path, get_year, open_schools_under
from app.returns.service import first_received
from app.review.service import excused_schools

FIELDS = (
    "expected",
    "received",
    "valid",
    "approved",
    "invalid",
    "returned",
    "excused",
    "on_time",
    "late",
)


@dataclass
class UnitCompleteness:
    unit: str
    unit_name: str
    level: int
    expected: int = 0
    received: int = 0
    valid: int = 0
    approved: int = 0
    invalid: int = 0
    returned: int = 0
    excused: int = 0
    on_time: int = 0
    late: int = 0
    missing: list[str] = field(default_factory=list)  # schools with neither return nor excuse

    def public(self, with_missing: bool) -> dict[str, Any]:
        row = asdict(self)
        row["reporting_rate"] = (
            round(100 * self.received / self.expected, 1) if self.expected else None
        )
        row["on_time_rate"] = (
            round(100 * self.on_time / self.expected, 1) if self.expected else None
        )
        if not with_missing:
            row.pop("missing")
        return row


def completeness(
    session: Session,
    user: Principal,
    *,
    form: str,
    year: int,
    level: int,
    unit: str | None,
) -> list[UnitCompleteness]:
    """One row per unit at `level` inside `unit` (default: the caller's area)."""
    window = get_year(session, year)
    path = area_path(session, user, unit)
    units = [u for u in all_units(session) if u.path.startswith(path)]
    top = min((u.level for u in units), default=0)
    if level < top:
        raise InvalidInput(
            f"Level {level} lies above the unit asked for (level {top}).",
            [{"code": "LEVEL_ABOVE_UNIT", "path": "level", "message": str(level)}],
        )
    rows = {u.path: UnitCompleteness(u.code, u.name, u.level) for u in units if u.level == level}
    schools = open_schools_under(session, path)
    ids = [sid for sid, _, _ in schools]
    received = first_received(session, form, year, ids)
    excused = excused_schools(session, form, year, ids)
    closes = window.window_closes
    for sid, code, unit_path in schools:
        parts = unit_path.strip("/").split("/")
        if len(parts) <= level:
            continue  # a school of a unit above the level asked for
        row = rows.get("/" + "/".join(parts[: level + 1]) + "/")
        if row is None:
            continue
        row.expected += 1
        got = received.get(sid)
        if got is None:
            if sid in excused:
                row.excused += 1
            else:
                row.missing.append(code)
            continue
        status, first = got
        row.received += 1
        row.valid += status != "invalid"
        row.approved += status in ("approved", "locked")
        row.invalid += status == "invalid"
        row.returned += status == "returned"
        if first > closes:
            row.late += 1
        else:
            row.on_time += 1
    return [rows[p] for p in sorted(rows, key=lambda p: rows[p].unit)]
