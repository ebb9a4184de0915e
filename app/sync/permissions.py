"""Who may call the sync routes (the rules themselves: app/auth/permissions.py)."""

from typing import Annotated

from fastapi import Depends

from app.auth.deps import authorize
from app.auth.permissions import Permission
from app.core.principal import Principal

Pusher = Annotated[Principal, Depends(authorize(Permission.push_returns))]
Puller = Annotated[Principal, Depends(authorize(Permission.pull))]
ConfigReader = Annotated[Principal, Depends(authorize(Permission.read_reference))]
