"""Who may call the release routes (the rules themselves: app/auth/permissions.py)."""

from typing import Annotated

from fastapi import Depends

from app.auth.deps import authorize
from app.auth.permissions import Permission
from app.core.principal import Principal

Publisher = Annotated[Principal, Depends(authorize(Permission.publish))]
ReleaseReader = Annotated[Principal, Depends(authorize(Permission.read_figures))]
WebhookManager = Annotated[Principal, Depends(authorize(Permission.manage_webhooks))]
