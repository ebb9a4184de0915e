"""A synthetic but plausible country for demos, tests and benchmarks (deterministic by seed;
the users' passwords are not: they are drawn at random for each database)."""

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import col

from app.auth.models import User
from app.auth.service import create_user
from app.core.uow import Database, unit_of_work
from app.demo.levels import LEVELS
from app.registry import service as registry
from app.registry.models import AdminUnit, School, SchoolYear

Step = Callable[[str, int, int], None]

COUNTRY = "DM"
_REGION_NAMES = [
    "Nord",
    "Sud",
    "Est",
    "Ouest",
    "Centre",
    "Artibonite",
    "Grand'Anse",
    "Nippes",
    "Nord-Est",
    "Nord-Ouest",
    "Sud-Est",
    "Plateau",
    "Littoral",
    "Savanes",
    "Collines",
    "Mono",
    "Couffo",
    "Zou",
    "Atlantique",
    "Donga",
]
_SYLLABLES = [
    "ba",
    "lo",
    "mi",
    "ka",
    "ri",
    "to",
    "sa",
    "ne",
    "gu",
    "fa",
    "do",
    "le",
    "ma",
    "pi",
    "ro",
    "su",
    "ta",
    "vi",
    "zo",
    "ki",
]


@dataclass(frozen=True)
class DemoSpec:
    schools: int = 600
    seed: int = 2025
    returns: bool = True
    today: date | None = None
    # The standard form versions to load: all shipped ones (None), or those up to this one
    # (returns need version 2).
    forms_up_to: int | None = None


@dataclass(frozen=True)
class DemoUser:
    username: str
    # Known only to the build that made the user (None when the demo was already there).
    password: str | None
    role: str
    unit: str


@dataclass
class DemoResult:
    users: list[DemoUser]
    summary: str
    already_present: bool = False
    years: tuple[int, int] = (0, 0)
    district_codes: list[str] = field(default_factory=list)


def _place_name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def demo_years(today: date) -> tuple[int, int]:
    """(earlier year, current year): the current school year starts in September."""
    current = today.year if today.month >= 9 else today.year - 1
    return current - 1, current


def shape(schools: int) -> tuple[int, int]:
    """(regions, districts per region) for a country of this many schools (~50 per district)."""
    regions = min(len(_REGION_NAMES), max(3, schools // 6000))
    per_region = max(4, round(schools / regions / 50))
    return regions, per_region


PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def random_password(length: int = 16) -> str:
    """A password drawn from the system's random source (never from the demo's seed)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


def demo_users(
    region: str, district: str, other_district: str, *, passwords: bool = True
) -> list[DemoUser]:
    """The demo's users; each gets a fresh random password (or None with passwords=False)."""

    def pw() -> str | None:
        return random_password() if passwords else None

    return [
        DemoUser("admin", pw(), "admin", COUNTRY),
        DemoUser("analyst", pw(), "analyst", COUNTRY),
        DemoUser("reviewer", pw(), "reviewer", region),
        DemoUser("clerk", pw(), "clerk", district),
        DemoUser("clerk2", pw(), "clerk", other_district),
    ]


def build_registry(session: Session, spec: DemoSpec, step: Step | None = None) -> DemoResult:
    """Admin tree, schools, structure, years and population; flushes, the caller commits."""
    rng = random.Random(spec.seed)
    today = spec.today or datetime.now(UTC).date()
    earlier, current = demo_years(today)
    n_regions, per_region = shape(spec.schools)
    units = [{"code": COUNTRY, "name": "Demoland", "level_name": "country", "parent": None}]
    districts: list[str] = []
    for r in range(n_regions):
        rcode = f"{COUNTRY}-R{r + 1:02d}"
        units.append(
            {"code": rcode, "name": _REGION_NAMES[r], "level_name": "region", "parent": COUNTRY}
        )
        for d in range(per_region):
            dcode = f"{rcode}-D{d + 1:03d}"
            units.append(
                {"code": dcode, "name": _place_name(rng), "level_name": "district", "parent": rcode}
            )
            districts.append(dcode)
    if step:
        step("Admin units", 0, len(units))
    registry.upsert_units(session, units)
    registry.upsert_levels(session, LEVELS)

    schools: list[dict[str, Any]] = []
    per_district: dict[str, int] = dict.fromkeys(districts, 0)
    for i in range(spec.schools):
        # The first districts get one school each in turn, so every district has schools.
        district = districts[i] if i < len(districts) else rng.choice(districts)
        per_district[district] += 1
        levels = ["primary"]
        if rng.random() < 0.3:
            levels.insert(0, "pre_primary")
        if rng.random() < 0.25:
            levels.append("lower_secondary")
            if rng.random() < 0.4:
                levels.append("upper_secondary")
        schools.append(
            {
                "code": f"{COUNTRY}-{i + 1:06d}",
                "name": f"{rng.choice(['École', 'Lycée', 'Institution', 'Collège'])} {_place_name(rng)}",
                "unit": district,
                "ownership": rng.choices(
                    ["public", "private", "community", "faith_based"], [70, 15, 8, 7]
                )[0],
                "locality": "rural" if rng.random() < 0.65 else "urban",
                "levels": levels,
                "status": "open",
                "attributes": {},
            }
        )
    if step:
        step("Schools", 0, len(schools))
    registry.upsert_schools(session, schools)

    # The earlier year's window is closed; the current one stays open the whole school year,
    # so the demo (and the tests built on it) can push whatever today's date.
    registry.upsert_years(
        session,
        [
            {
                "year": earlier,
                "label": f"{earlier}/{(earlier + 1) % 100:02d}",
                "reference_date": date(earlier, 11, 15),
                "window_opens": datetime(earlier, 10, 1, tzinfo=UTC),
                "window_closes": datetime(earlier + 1, 3, 31, 23, 59, 59, tzinfo=UTC),
                "reopened_until": None,
            },
            {
                "year": current,
                "label": f"{current}/{(current + 1) % 100:02d}",
                "reference_date": date(current, 11, 15),
                "window_opens": datetime(current, 9, 1, tzinfo=UTC),
                "window_closes": datetime(current + 1, 8, 31, 23, 59, 59, tzinfo=UTC),
                "reopened_until": None,
            },
        ],
    )
    population = []
    for district, n in per_district.items():
        for year in (earlier, current):
            for age in range(3, 25):
                # ~45 pupils a grade a school; fewer children of secondary age reach school.
                base = n * 45 / (0.95 if age < 12 else 0.7 if age < 18 else 0.4)
                for sex in ("F", "M"):
                    population.append(
                        {
                            "unit": district,
                            "year": year,
                            "age": age,
                            "sex": sex,
                            "value": int(
                                base * rng.uniform(0.9, 1.1) * (1.02 if sex == "M" else 0.98)
                            ),
                        }
                    )
    if step:
        step("Population", 0, len(population))
    registry.upsert_population(session, population)
    region = f"{COUNTRY}-R01"
    users = demo_users(region, districts[0], districts[1])
    for u in users:
        assert u.password is not None
        create_user(session, u.username, u.password, u.role, u.unit, full_name=f"Demo {u.role}")
    return DemoResult(
        users=users,
        summary=(
            f"Demoland: {n_regions} regions, {len(districts)} districts, {spec.schools} schools; "
            f"school years {earlier} (closed) and {current} (open)."
        ),
        years=(earlier, current),
        district_codes=districts,
    )


def build_demo(
    target: "Database | sessionmaker[Session]", spec: DemoSpec, step: Step | None = None
) -> DemoResult:
    """Build the registry in one unit of work, then the returns in batches (or report that the
    demo is already there, with its users but not their passwords)."""
    from app.forms.service import load_standard_forms

    db = target if isinstance(target, Database) else Database(target.kw["bind"])
    with unit_of_work(db) as uow:
        session = uow.session
        present = session.scalar(select(col(AdminUnit.id)).where(col(AdminUnit.code) == COUNTRY))
        if present is not None:
            districts = sorted(
                session.scalars(select(col(AdminUnit.code)).where(col(AdminUnit.level) == 2))
            )
            # The passwords were drawn when the demo was built and only their hashes are
            # stored: the builder's result (or `emis demo`'s users file) holds them.
            users = demo_users(f"{COUNTRY}-R01", districts[0], districts[1], passwords=False)
            known = set(session.scalars(select(col(User.username))))
            years = sorted(session.scalars(select(col(SchoolYear.year))))
            return DemoResult(
                users=[u for u in users if u.username in known],
                summary="Demo country already loaded.",
                already_present=True,
                years=(years[0], years[-1]),
                district_codes=districts,
            )
        result = build_registry(session, spec, step)
        load_standard_forms(session, up_to=spec.forms_up_to)
        schools = [
            (c, lv, district)
            for c, lv, district in session.execute(
                select(col(School.code), col(School.levels), col(AdminUnit.code))
                .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
                .order_by(col(School.code))
            )
        ]
    if spec.returns:
        from app.demo.returns import fill_returns

        # Both years, the current one following from the earlier through pupil flows.
        fill_returns(db, result.years, schools, spec.seed, step)
    return result


def users_with_passwords(
    db: Database, users: list[DemoUser], known: dict[str, str]
) -> list[DemoUser]:
    """`users` with the passwords from `known` that still open their account (a password
    changed since, or one from another database, is left out as None)."""
    from app.core.security import verify_password

    with unit_of_work(db) as uow:
        rows = uow.session.execute(select(col(User.username), col(User.password_hash))).all()
    hashes = {name: stored for name, stored in rows}
    out = []
    for u in users:
        password = known.get(u.username)
        stored = hashes.get(u.username)
        works = bool(password and stored and verify_password(password, stored))
        out.append(DemoUser(u.username, password if works else None, u.role, u.unit))
    return out
