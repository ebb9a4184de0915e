"""Import every table module so the metadata is complete (Alembic, tests)."""

from app.auth import models as auth_models
from app.core import audit as audit_models
from app.core import changelog as changelog_models
from app.core.db import metadata
from app.forms import models as forms_models
from app.indicators import keep as indicators_keeper  # registers the keeper of the totals
from app.indicators import models as indicators_models
from app.publishing import models as publishing_models
from app.registry import models as registry_models
from app.returns import models as returns_models
from app.review import models as review_models
from app.sync import models as sync_models

__all__ = [
    "audit_models",
    "auth_models",
    "changelog_models",
    "forms_models",
    "indicators_keeper",
    "indicators_models",
    "metadata",
    "publishing_models",
    "registry_models",
    "returns_models",
    "review_models",
    "sync_models",
]
