"""Users, passwords and tokens."""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.models import ApiToken, Role, User
from app.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
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
    return user


def issue_session_token(uow: UnitOfWork, username: str, password: str, minutes: int) -> str:
    """Password flow: the same 401 for an unknown user and a wrong password. The password is
    checked before the write begins (on SQLite the slow hash never holds the write lock)."""
    user = uow.reader.scalar(select(User).where(col(User.username) == username))
    if user is None:
        burn_password_check(password)
        raise Unauthorized("Incorrect username or password.")
    if not verify_password(password, user.password_hash) or not user.is_active:
        raise Unauthorized("Incorrect username or password.")
    token = new_token("emis_s_")
    session = uow.session
    session.add(
        ApiToken(
            user_id=user.id,  # type: ignore[arg-type]
            kind="session",
            token_hash=token_hash(token),
            expires_at=uow.now + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return token


def create_device_token(session: Session, username: str, label: str) -> tuple[ApiToken, str]:
    """A long-lived token for a district laptop; the clear token is returned once, never stored."""
    user = session.scalar(select(User).where(col(User.username) == username))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    token = new_token("emis_d_")
    row = ApiToken(user_id=user.id, kind="device", label=label, token_hash=token_hash(token))  # type: ignore[arg-type]
    session.add(row)
    session.flush()
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


def list_tokens(session: Session, username: str | None = None) -> list[tuple[ApiToken, str]]:
    """Tokens with their owner's name (device tokens first)."""
    q = select(ApiToken, col(User.username)).join(User, col(User.id) == ApiToken.user_id)
    if username:
        q = q.where(col(User.username) == username)
    q = q.order_by(col(ApiToken.kind), col(ApiToken.id))
    return [(t, u) for t, u in session.execute(q).all()]


def resolve_token(session: Session, token: str, now: datetime | None = None) -> Principal:
    """Find the active user behind a bearer token, or raise 401."""
    now = now or utcnow()
    row = session.execute(
        select(
            col(ApiToken.id),
            col(ApiToken.expires_at),
            col(ApiToken.revoked_at),
            User,
            col(AdminUnit.code),
            col(AdminUnit.path),
        )
        .join(User, col(User.id) == ApiToken.user_id)
        .join(AdminUnit, col(AdminUnit.id) == User.admin_unit_id)
        .where(col(ApiToken.token_hash) == token_hash(token))
    ).first()
    if row is None:
        raise Unauthorized()
    token_id, expires_at, revoked_at, user, unit_code, unit_path = row
    if (
        revoked_at is not None
        or (expires_at is not None and expires_at < now)
        or not user.is_active
    ):
        raise Unauthorized("The token has expired or was revoked.")
    return Principal(
        user_id=user.id,  # type: ignore[arg-type]
        username=user.username,
        role=user.role,
        unit_id=user.admin_unit_id,
        unit_code=unit_code,
        unit_path=unit_path,
        token_id=token_id,  # type: ignore[arg-type]
    )
