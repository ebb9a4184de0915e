"""ASGI entry point for uvicorn workers: `uvicorn app.asgi:app`."""

from app.core.config import get_settings
from app.core.logging import setup_logging
from app.main import create_app

_settings = get_settings()
setup_logging(_settings.log_level, _settings.log_json)
app = create_app(_settings)
