"""Who may call the figures' routes (the rules themselves: app/auth/permissions.py)."""

from typing import Annotated

from fastapi import Depends

from app.auth.deps import authorize
from app.auth.permissions import Permission
from app.core.principal import Principal

FigureReader = Annotated[Principal, Depends(authorize(Permission.read_figures))]
