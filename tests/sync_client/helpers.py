"""Demo returns for the client's tests, written as the files a clerk imports."""

import json
import random
from pathlib import Path
from typing import Any

from app.demo.returns import school_values, standard_age_code
from sync_client import Client
from sync_client.values import flatten


def demo_returns(client: Client, n: int | None = None, seed: int = 1) -> dict[str, dict[str, Any]]:
    """Plausible values for the client's first n open schools (all of them by default)."""
    schools = [s for s in client.schools() if s["status"] == "open"][:n]
    return {
        s["code"]: school_values(random.Random(seed * 100_003 + i), s["levels"], standard_age_code)
        for i, s in enumerate(schools)
    }


def write_json(path: Path, year: int, returns: dict[str, dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "form": "annual_school_census",
                "form_version": 1,
                "year": year,
                "returns": [{"school": k, "values": v} for k, v in returns.items()],
            }
        ),
        encoding="utf-8",
    )
    return path


def assert_exactly_once(
    client: Client, stored: dict[str, list[Any]], wanted: dict[str, Any]
) -> None:
    """Each wanted return is on the server once (one revision), with exactly these values."""
    defn = client.form()
    assert sorted(stored) == sorted(wanted)
    for code, values in wanted.items():
        revisions = stored[code]
        assert len(revisions) == 1, (code, [r[0] for r in revisions])
        assert flatten(defn, revisions[0][1]) == flatten(defn, values), code
