"""Settings: one pydantic-settings class, every variable prefixed with EMIS_."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
SECRET_MIN_LENGTH = 32
HOW_TO_MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Values copied from examples and tutorials: anyone can sign with them.
KNOWN_WEAK_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "secret",
        "secret-key",
        "secret_key",
        "your-secret-key",
        "your_secret_key",
        "replace-me",
        "insecure",
        "development",
        "test",
        "example",
    }
)


class Settings(BaseSettings):
    """Server configuration, read from the environment (EMIS_*) or a .env file."""

    model_config = SettingsConfigDict(env_prefix="EMIS_", env_file=".env", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Folder for the SQLite file and exports.")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/emis",
    )
    log_level: str = "INFO"
    log_json: bool = True
    session_token_minutes: Annotated[int, Field(ge=1)] = 8 * 60
    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        1024 * 1024,
        description="Largest request body (after gzip inflation) of every route but push, "
        "which takes up to sync_max_bytes.",
    )
    sync_max_items: Annotated[int, Field(ge=1)] = 200
    sync_max_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    pool_size: Annotated[int, Field(ge=1, le=200)] = Field(
        10,
        description="Database connections per worker; also how many requests a worker serves "
        "at once (each holds at most one connection).",
    )
    pool_timeout: Annotated[float, Field(gt=0)] = 10.0
    queue_size: Annotated[int, Field(ge=0)] = Field(
        50, description="Requests a worker keeps waiting for a free slot; more get 503 at once."
    )
    queue_wait_seconds: Annotated[float, Field(gt=0)] = Field(
        10.0, description="How long a request may wait for a slot before it gets 503."
    )
    sqlite_synchronous: Literal["FULL", "EXTRA", "NORMAL"] = Field(
        "FULL",
        description="SQLite durability: FULL (default) syncs every commit, so an acknowledged "
        "push survives a power cut; NORMAL is faster and may lose the last commits.",
    )
    check_schema_on_start: bool = True
    metrics_token: str = Field(
        "",
        description="A bearer token that may read /metrics only (for Prometheus); empty means "
        "only administrators' tokens may.",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs what the server hands out and must recognise later (paging cursors, "
        "session cookies, CSRF tokens, webhook payloads, as those arrive). At least "
        f"{SECRET_MIN_LENGTH} "
        f"random characters; make one with {HOW_TO_MAKE_A_SECRET}. Required outside demo mode.",
    )
    demo_mode: bool = Field(
        False,
        description="A demo server (`emis demo` sets it): runs without a configured secret key.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma-separated or a JSON list); "
        "empty (the default): no CORS headers at all.",
    )
    warm_renderers: bool = Field(
        True,
        description="At start-up, load the PDF and chart renderers (WeasyPrint, vl-convert) in a "
        "background thread, so the first diagnosis PDF does not pay for it.",
    )
    hsts_seconds: Annotated[int, Field(ge=0)] = Field(
        0,
        description="Send Strict-Transport-Security with this max-age (only behind HTTPS); "
        "0 (the default): not sent.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def secret_problem(self) -> str | None:
        """Why the secret key cannot be used (None when it can, or in demo mode)."""
        if self.demo_mode:
            return None
        secret = self.secret_key.get_secret_value()
        fix = f"Set EMIS_SECRET_KEY to a random value, for example the output of {HOW_TO_MAKE_A_SECRET}"
        if not secret:
            return f"EMIS_SECRET_KEY is not set. {fix}."
        if len(secret) < SECRET_MIN_LENGTH:
            return (
                f"EMIS_SECRET_KEY is {len(secret)} characters long; it needs at least "
                f"{SECRET_MIN_LENGTH}. {fix}."
            )
        if _is_known_weak(secret):
            return f"EMIS_SECRET_KEY is a well-known example value. {fix}."
        return None

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the default SQLite file inside data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'emis.db').as_posix()}"


def _is_known_weak(secret: str) -> bool:
    """An example value, repeated or numbered to reach the length, or one character over."""
    folded = secret.strip().lower()
    rest = folded
    for weak in sorted(KNOWN_WEAK_SECRETS, key=len, reverse=True):
        rest = rest.replace(weak, "")
    return len(set(folded)) < 6 or not rest.strip("-_. 0123456789")


class InsecureSecret(RuntimeError):
    """The server refuses to start: EMIS_SECRET_KEY is missing, too short or well known."""


@lru_cache
def get_settings() -> Settings:
    """Cached settings; tests build their own Settings and pass them to create_app."""
    return Settings()
