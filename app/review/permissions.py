"""Who may call the review routes (the rules themselves: app/auth/permissions.py)."""

from typing import Annotated

from fastapi import Depends

from app.auth.deps import authorize
from app.auth.permissions import Permission
from app.core.principal import Principal

Reviewer = Annotated[Principal, Depends(authorize(Permission.review_returns))]
Reopener = Annotated[Principal, Depends(authorize(Permission.reopen_returns))]
LadderReader = Annotated[Principal, Depends(authorize(Permission.read_reference))]
CompletenessReader = Annotated[Principal, Depends(authorize(Permission.read_figures))]
