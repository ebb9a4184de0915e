"""Check-engine benchmark: median time to check one standard return (about 300 cells) against
every rule and the plausibility checks, beside the machine's floor for touching the same cells.

    python bench/checks.py [--runs 3000]

Prints a table and, last, one JSON object with the figures."""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.demo.returns import cell_count, school_values, standard_age_code
from app.forms.checking import STANDARD_FORM_PATH, compile_form, load_definition_file

LEVELS = ["pre_primary", "primary", "lower_secondary"]


def floor(values: dict) -> float:
    """Touch every cell once and sum the counts: the least any check could do."""
    total = 0
    for v in values.values():
        if isinstance(v, list):
            for c in v:
                total += c["value"]
        elif type(v) is int:
            total += v
    return total


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    form = compile_form(load_definition_file(STANDARD_FORM_PATH))
    rng = random.Random(args.seed)
    current = school_values(rng, LEVELS, standard_age_code)
    previous = school_values(random.Random(args.seed + 1), LEVELS, standard_age_code)
    result = form.check(current, previous)
    assert not result.errors, result.errors
    cells = cell_count(current)
    timed(lambda: form.check(current, previous), 200)  # warm up
    checks = timed(lambda: form.check(current, previous), args.runs)
    base = timed(lambda: floor(current), args.runs)
    checks.sort()
    base.sort()
    figures = {
        "cells": cells,
        "rules": len(form.rules),
        "runs": args.runs,
        "median_ms": round(statistics.median(checks) * 1000, 3),
        "p99_ms": round(checks[int(len(checks) * 0.99)] * 1000, 3),
        "floor_median_ms": round(statistics.median(base) * 1000, 4),
        "ratio_to_floor": round(statistics.median(checks) / statistics.median(base), 1),
        "target_ms": 1.0,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    print(
        f"standard return: {cells} cells, {len(form.rules)} rules + plausibility, {args.runs} runs"
    )
    print(f"{'':22}{'median ms':>12}{'p99 ms':>10}")
    print(f"{'check()':22}{figures['median_ms']:>12}{figures['p99_ms']:>10}")
    print(f"{'floor (touch cells)':22}{figures['floor_median_ms']:>12}")
    print(
        f"check is {figures['ratio_to_floor']}× the floor; target median ≤ 1 ms: "
        f"{'met' if figures['median_ms'] <= 1.0 else 'MISSED'}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
