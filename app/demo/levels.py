"""The demo country's education structure (ISCED levels 0 to 3)."""

from typing import Any

LEVELS: list[dict[str, Any]] = [
    {
        "code": "pre_primary",
        "name": "Pre-primary",
        "sequence": 0,
        "entrance_age": 4,
        "duration": 2,
        "grades": ["PP1", "PP2"],
    },
    {
        "code": "primary",
        "name": "Primary",
        "sequence": 1,
        "entrance_age": 6,
        "duration": 6,
        "grades": ["P1", "P2", "P3", "P4", "P5", "P6"],
    },
    {
        "code": "lower_secondary",
        "name": "Lower secondary",
        "sequence": 2,
        "entrance_age": 12,
        "duration": 3,
        "grades": ["S1", "S2", "S3"],
    },
    {
        "code": "upper_secondary",
        "name": "Upper secondary",
        "sequence": 3,
        "entrance_age": 15,
        "duration": 3,
        "grades": ["S4", "S5", "S6"],
    },
]
