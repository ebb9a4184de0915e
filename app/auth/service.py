"""Users, passwords and tokens."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.models import ApiToken, Role, User
from app.core.audit import AuditEvent, count_events, last_event_at, note_audit
from app.core.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized
from app.core.principal import Principal
from app.core.security import (
    burn_password_check,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from app.core.types import utcnow
from app.core.uow import UnitOfWork
from app.registry.models import AdminUnit


def create_user(
    session: Session, username: str, password: str, role: str, unit_code: str, full_name: str = ""
) -> User:
    """Add a user; the password is stored as an argon2 hash."""
    if role not in {r.value for r in Role}:
        raise InvalidInput(
            f"Unknown role {role!r}.",
            [
                {
                    "code": "UNKNOWN_ROLE",
                    "path": "role",
                    "message": f"one of {[r.value for r in Role]}",
                }
            ],
        )
    if len(password) < 8:
        raise InvalidInput(
            "The password is too short.",
            [
                {
                    "code": "PASSWORD_TOO_SHORT",
                    "path": "password",
                    "message": "at least 8 characters",
                }
            ],
        )
    unit = session.scalar(select(AdminUnit).where(col(AdminUnit.code) == unit_code))
    if unit is None:
        raise InvalidInput(
            f"No admin unit has the code {unit_code!r}.",
            [{"code": "UNKNOWN_UNIT", "path": "unit", "message": "unknown admin unit"}],
        )
    if session.scalar(select(col(User.id)).where(col(User.username) == username)) is not None:
        raise Conflict(f"A user named {username!r} already exists.")
    user = User(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role,
        admin_unit_id=unit.id,  # type: ignore[arg-type]
    )
    session.add(user)
    session.flush()
    note_audit(session, "user.create", username, user_id=None, role=role, unit=unit_code)
    return user


@dataclass(frozen=True)
class LoginLimits:
    """Growing delays after failed sign-ins: past `free_per_user` failures for one user (or
    `free_per_address` from one address) within `window`, each further try waits
    2**(failures - free) seconds after the last failure, up to `max_delay`."""

    free_per_user: int = 5
    free_per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(minutes=15)

    def wait(self, failures: int, free: int, last: datetime | None, now: datetime) -> float:
        """Seconds the caller must still wait (0: may try now)."""
        if failures < free or last is None:
            return 0.0
        delay = min(2.0 ** (failures - free + 1), self.max_delay.total_seconds())
        return max(0.0, (last - now).total_seconds() + delay)


LIMITS = LoginLimits()


def _login_wait(uow: UnitOfWork, username: str, limits: LoginLimits) -> float:
    """How long this user and this address must wait before the next try (failures count
    from the user's last successful sign-in, within the window)."""
    since = uow.now - limits.window
    last_ok = last_event_at(uow.reader, "login.success", username)
    user_since = max(since, last_ok) if last_ok else since
    n_user, last_user = count_events(uow.reader, "login.failed", since=user_since, target=username)
    wait = limits.wait(n_user, limits.free_per_user, last_user, uow.now)
    if uow.origin.address:
        n_addr, last_addr = count_events(
            uow.reader, "login.failed", since=since, address=uow.origin.address
        )
        wait = max(wait, limits.wait(n_addr, limits.free_per_address, last_addr, uow.now))
    return wait


def issue_session_token(
    uow: UnitOfWork, username: str, password: str, minutes: int, limits: LoginLimits = LIMITS
) -> str:
    """Password flow: the same 401 for an unknown user and a wrong password, 429 with a growing
    delay after repeated failures (per user and per address). Every try is in the audit trail.
    The password is checked before the write begins (on SQLite the slow hash never holds the
    write lock)."""
    username = username[:64]
    wait = _login_wait(uow, username, limits)
    if wait > 0:
        raise TooManyRequests(
            "Too many failed sign-ins for this user or from this address; "
            f"try again in {math.ceil(wait)} seconds.",
            retry_after=math.ceil(wait),
        )
    user = uow.reader.scalar(select(User).where(col(User.username) == username))
    if user is None:
        burn_password_check(password)
    if user is None or not verify_password(password, user.password_hash) or not user.is_active:
        uow.audit_events.append(_login_failed(username, user))
        raise Unauthorized("Incorrect username or password.")
    token = new_token("emis_s_")
    session = uow.session
    row = ApiToken(
        user_id=user.id,  # type: ignore[arg-type]
        kind="session",
        token_hash=token_hash(token),
        expires_at=uow.now + timedelta(minutes=minutes),
        last_used_at=uow.now,  # issued is used: the first call of the session writes nothing
    )
    session.add(row)
    session.flush()
    note_audit(session, "login.success", username, username=username, user_id=user.id, token=row.id)
    return token


def _login_failed(username: str, user: User | None) -> AuditEvent:
    reason = "unknown user" if user is None else "inactive" if not user.is_active else "password"
    return AuditEvent(
        "login.failed",
        username,
        {"reason": reason},
        lasting=True,  # stored although the sign-in fails: the failure is the event
        username=username,
        user_id=user.id if user else None,
    )


def create_device_token(session: Session, username: str, label: str) -> tuple[ApiToken, str]:
    """A long-lived token for a district laptop; the clear token is returned once, never stored."""
    user = session.scalar(select(User).where(col(User.username) == username))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    token = new_token("emis_d_")
    row = ApiToken(user_id=user.id, kind="device", label=label, token_hash=token_hash(token))  # type: ignore[arg-type]
    session.add(row)
    session.flush()
    note_audit(session, "token.create", username, token=row.id, kind="device", label=label)
    return row, token


def revoke_token(session: Session, token_id: int) -> None:
    """Revoke a token by id; revoked tokens answer 401 from then on."""
    done = session.execute(
        update(ApiToken)
        .where(col(ApiToken.id) == token_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No active token with id {token_id}.")
    note_audit(session, "token.revoke", str(token_id), token=token_id)


def list_tokens(session: Session, username: str | None = None) -> list[tuple[ApiToken, str]]:
    """Tokens with their owner's name (device tokens first)."""
    q = select(ApiToken, col(User.username)).join(User, col(User.id) == ApiToken.user_id)
    if username:
        q = q.where(col(User.username) == username)
    q = q.order_by(col(ApiToken.kind), col(ApiToken.id))
    return [(t, u) for t, u in session.execute(q).all()]


def resolve_token(
    session: Session, token: str, now: datetime | None = None
) -> tuple[Principal, datetime | None]:
    """Find the active user behind a bearer token (and when the token was last used), or raise
    401. Revocation and expiry are checked on every call."""
    now = now or utcnow()
    row = session.execute(
        select(
            col(ApiToken.id),
            col(ApiToken.expires_at),
            col(ApiToken.revoked_at),
            col(ApiToken.last_used_at),
            # Columns, not the User entity: every request runs this, and an ORM object costs.
            col(User.id),
            col(User.username),
            col(User.role),
            col(User.admin_unit_id),
            col(User.is_active),
            col(AdminUnit.code),
            col(AdminUnit.path),
        )
        .join(User, col(User.id) == ApiToken.user_id)
        .join(AdminUnit, col(AdminUnit.id) == User.admin_unit_id)
        .where(col(ApiToken.token_hash) == token_hash(token))
    ).first()
    if row is None:
        raise Unauthorized()
    token_id, expires_at, revoked_at, last_used = row[:4]
    user_id, username, role, unit_id, is_active, unit_code, unit_path = row[4:]
    if revoked_at is not None or (expires_at is not None and expires_at < now) or not is_active:
        raise Unauthorized("The token has expired or was revoked.")
    principal = Principal(
        user_id=user_id,  # type: ignore[arg-type]  # a stored user has an id
        username=username,
        role=role,
        unit_id=unit_id,
        unit_code=unit_code,
        unit_path=unit_path,
        token_id=token_id,  # type: ignore[arg-type]
    )
    return principal, last_used


LAST_USED_PRECISION = timedelta(minutes=1)


def note_token_use(uow: UnitOfWork, user: Principal, last_used: datetime | None) -> None:
    """Keep when a token was last used, to the minute: in the request's own transaction when
    it writes, else in a short one after it (so a read never holds the write lock for it); a
    busy token costs one small write a minute."""
    now = uow.now
    if last_used is not None and now - last_used < LAST_USED_PRECISION:
        return

    def _touch(session: Session) -> None:
        session.execute(
            update(ApiToken)
            .where(
                col(ApiToken.id) == user.token_id,
                or_(
                    col(ApiToken.last_used_at).is_(None),
                    col(ApiToken.last_used_at) < now - LAST_USED_PRECISION,
                ),
            )
            .values(last_used_at=now)
        )

    uow.ride_along(_touch)
