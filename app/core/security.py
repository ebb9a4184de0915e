"""Password hashing (argon2 via pwdlib) and opaque bearer tokens (only hashes are stored)."""

import hashlib
import secrets
from functools import lru_cache

from pwdlib import PasswordHash


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """True when the password matches the stored hash."""
    return _hasher().verify(password, password_hash)


_DUMMY_HASH: str | None = None


def burn_password_check(password: str) -> None:
    """Spend the same time as a real check so unknown users cannot be told apart by timing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    _hasher().verify(password, _DUMMY_HASH)


def new_token(prefix: str) -> str:
    """A random bearer token; the prefix tells a person what kind it is (emis_s_, emis_d_)."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """What is stored and looked up for a token."""
    return hashlib.sha256(token.encode()).hexdigest()
