"""Who may call the returns' routes (the rules themselves: app/auth/permissions.py)."""

from typing import Annotated

from fastapi import Depends

from app.auth.deps import authorize
from app.auth.permissions import Permission
from app.core.principal import Principal

ReturnReader = Annotated[Principal, Depends(authorize(Permission.read_returns))]
