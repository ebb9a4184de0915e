"""Who may call the registry's routes (the rules themselves: app/auth/permissions.py)."""

from typing import Annotated

from fastapi import Depends

from app.auth.deps import authorize
from app.auth.permissions import Permission
from app.core.principal import Principal

ReferenceReader = Annotated[Principal, Depends(authorize(Permission.read_reference))]
SchoolReader = Annotated[Principal, Depends(authorize(Permission.read_schools))]
RegistryManager = Annotated[Principal, Depends(authorize(Permission.manage_registry))]
