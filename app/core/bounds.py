"""Bounds on integers at the API edge, so an absurd number is a 422 naming the field and never
reaches the database (SQLite cannot bind integers of 2**63 or more; PostgreSQL's integer columns
stop at 2**31 - 1)."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_INT = 2_147_483_647  # PostgreSQL `integer`
YEAR_MIN, YEAR_MAX = 1900, 2200

# In bodies a number must be a JSON number: strict, so `true` or "12" is not taken as one.
Year = Annotated[int, Field(strict=True, ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
PathYear = Annotated[int, Path(ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])]
QueryYear = Annotated[int, Query(ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])]
PathVersion = Annotated[int, Path(ge=1, le=MAX_INT, examples=[1])]
