"""Benchmark of design-based scoring: analysis.score with a SurveyDesign against weights alone.

    python bench/analysis/bench_design.py                 # writes bench/RESULTS.md
    python bench/analysis/bench_design.py --sizes 100000 --no-write

Seeded synthetic sipas-service responses (700 units as strata, 12 villages per unit as
clusters, unequal weights, fpc 40 villages per unit), scored by unit. The baseline, timed
in the same process and alternated with it, is the same call with the weights only (no
design): the ratio is the cost of the design-based variances and design effects.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the repository root
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from synthetic import synthetic_responses  # noqa: E402

import analysis  # noqa: E402
from bench.results import machine, update_section  # noqa: E402

RUNS = 5


def measure(n: int) -> dict[str, float]:
    frame = synthetic_responses(n, weights=True)
    rng = np.random.default_rng(7)
    frame["village"] = rng.integers(0, 12, n)
    frame["fpc"] = 40
    design = analysis.SurveyDesign("unit_code", "village", "weight", "fpc")
    by = ["unit_code"]

    def baseline() -> object:
        return analysis.score(frame, "sipas-service", by=by, weights="weight")

    def designed() -> object:
        return analysis.score(frame, "sipas-service", by=by, design=design)

    baseline(), designed()  # warm-up
    plain, with_design = [], []
    for _ in range(RUNS):  # alternated, so a busy moment hits both
        for fn, times in ((baseline, plain), (designed, with_design)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return {
        "n": n,
        "baseline_s": statistics.median(plain),
        "design_s": statistics.median(with_design),
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = [measure(int(size)) for size in args.sizes.split(",")]
    lines = [
        "## Design-based scoring (analysis/design.py)",
        "",
        '`python bench/analysis/bench_design.py` — `analysis.score(frame, "sipas-service", '
        'by=["unit_code"], design=SurveyDesign("unit_code", "village", "weight", "fpc"))` on '
        "seeded synthetic responses (700 units as strata × 12 villages as clusters, unequal "
        "weights), against the same call with the weights alone, alternated in one process; "
        f"medians of {RUNS} runs each.",
        "",
        f"Machine: {machine()}.",
        "",
        "| responses | weights only s | with design s | ratio | 1-min load |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['n']:,} | {row['baseline_s']:.3f} | {row['design_s']:.3f} | "
            f"{row['design_s'] / row['baseline_s']:.2f} | {row['load']:.1f} |"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        update_section("design", text)


if __name__ == "__main__":
    main()
