"""Settings: one pydantic-settings class, every variable prefixed with EMIS_."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


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

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the default SQLite file inside data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'emis.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    """Cached settings; tests build their own Settings and pass them to create_app."""
    return Settings()
