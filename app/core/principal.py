"""Who is calling: shared by every feature, so it lives below them all."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The caller as resolved from a bearer token: user, role and area (a materialised path)."""

    user_id: int
    username: str
    role: str
    unit_id: int
    unit_code: str
    unit_path: str
    token_id: int

    def covers(self, path: str) -> bool:
        """True when the admin unit with this path lies inside the caller's area."""
        return path.startswith(self.unit_path)
