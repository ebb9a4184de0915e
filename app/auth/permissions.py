"""Named permissions and what each role holds: the one table of who may do what.

Each feature declares the dependencies of its routes in its own `permissions.py` from these
names (Polar's per-module `auth.py`); the area (which schools, which units) is then checked by
the feature's service against the caller's unit: outside it 403, unknown inside it 404.

| permission | admin | analyst | reviewer | clerk |
|---|---|---|---|---|
| self:read (who am I) | ✓ | ✓ | ✓ | ✓ |
| reference:read (units, years, levels, forms, sync config) | ✓ | ✓ | ✓ | ✓ |
| schools:read (schools and population of the area) | ✓ | ✓ | ✓ | ✓ |
| returns:read (returns and their history, in the area) | ✓ | ✓ | ✓ | ✓ |
| figures:read (aggregates and indicators of the area) | ✓ | ✓ | ✓ | ✓ |
| sync:pull (a device's copy of the area) | ✓ | | ✓ | ✓ |
| returns:push (new revisions of the area's returns) | ✓ | | | ✓ |
| returns:review (approve or send back the area's returns at the caller's rung, excuse schools) | ✓ | | ✓ | |
| returns:reopen (an approved or locked return) | ✓ | | | |
| releases:publish (make a release; national analysts and administrators only) | ✓ | ✓ | | |
| registry:manage (units, schools, years, levels, population) | ✓ | | | |
| webhooks:manage (subscriptions, deliveries) | ✓ | | | |
| audit:read | ✓ | | | |
| metrics:read | ✓ | | | |
"""

from enum import StrEnum

from app.auth.models import Role


class Permission(StrEnum):
    whoami = "self:read"
    read_reference = "reference:read"
    read_schools = "schools:read"
    read_returns = "returns:read"
    read_figures = "figures:read"
    pull = "sync:pull"
    push_returns = "returns:push"
    review_returns = "returns:review"
    reopen_returns = "returns:reopen"
    publish = "releases:publish"
    manage_webhooks = "webhooks:manage"
    manage_registry = "registry:manage"
    read_audit = "audit:read"
    read_metrics = "metrics:read"


_EVERYONE = {
    Permission.whoami,
    Permission.read_reference,
    Permission.read_schools,
    Permission.read_returns,
    Permission.read_figures,
}

GRANTS: dict[str, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.analyst: frozenset(_EVERYONE | {Permission.publish}),
    Role.reviewer: frozenset(_EVERYONE | {Permission.pull, Permission.review_returns}),
    Role.clerk: frozenset(_EVERYONE | {Permission.pull, Permission.push_returns}),
}


def roles_with(permission: Permission) -> list[str]:
    """The roles that hold a permission, in a stable order (for messages and docs)."""
    return [role.value for role in Role if permission in GRANTS[role]]


def may(role: str, permission: Permission) -> bool:
    """True when the role holds the permission."""
    return permission in GRANTS.get(role, frozenset())
