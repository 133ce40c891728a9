"""Benchmark of analysis.score: time and memory from 10k to 5M responses of sipas-service.

    python bench/analysis/bench_scoring.py            # all sizes, writes bench/RESULTS.md
    python bench/analysis/bench_scoring.py --sizes 10000,100000 --no-write

Each size runs in its own process (so peak memory is that size's alone): seeded synthetic
responses (700 units, 12 months), then ``score(by=["unit_code", "period"], period="month")``
with every interval, timed several times; the median is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the repository root, for bench.results

from bench.results import update_section  # noqa: E402

SECTION = "## Scoring (analysis/)"
RUNS = {10_000: 7, 100_000: 7, 1_000_000: 5, 5_000_000: 3}


def rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def calibration_s() -> float:
    """Median time of a fixed numpy workload: when it grows, the machine is busy elsewhere."""
    import numpy as np

    keys = np.random.default_rng(0).integers(0, 60_000, 5_000_000)
    return statistics.median(timed(lambda: np.bincount(keys, minlength=60_000), 5))


def one_size(n: int, runs: int) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent.parent))
    from synthetic import synthetic_responses

    import analysis

    frame = synthetic_responses(n)
    rss_data = rss_mb()
    load = os.getloadavg()[0]
    calibration = calibration_s()
    by = ["unit_code", "period"]
    result = analysis.score(frame, "sipas-service", by=by)  # warm-up (imports, caches)
    full = timed(lambda: analysis.score(frame, "sipas-service", by=by), runs)
    rss_peak = rss_mb()
    no_ci = timed(lambda: analysis.score(frame, "sipas-service", by=by, intervals=False), runs)
    counts = analysis.count_table(frame, "sipas-service", by=by)
    from_counts = timed(lambda: analysis.score_counts(counts, "sipas-service"), runs)
    tracemalloc.start()
    analysis.score(frame, "sipas-service", by=by)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "n": n,
        "groups": int(len(result.responses)),
        "rows_out": int(len(result.table)),
        "runs": runs,
        "median_s": statistics.median(full),
        "min_s": min(full),
        "max_s": max(full),
        "no_intervals_median_s": statistics.median(no_ci),
        "count_rows": int(len(counts)),
        "from_counts_median_s": statistics.median(from_counts),
        "rss_after_data_mb": rss_data,
        "rss_peak_mb": rss_peak,
        "score_alloc_peak_mb": traced_peak / 2**20,
        "load": load,
        "calibration_ms": 1000 * calibration,
    }


def machine() -> dict[str, str]:
    import numpy
    import pandas

    def run(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
        except OSError:
            return ""

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in run(["lscpu"]).splitlines()
            if line.startswith("Model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return {
        "cpu": model,
        "nproc": run(["nproc"]).strip() or str(os.cpu_count()),
        "memory": f"{mem_kb / 2**20:.1f} GiB",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def markdown(rows: list[dict[str, object]], host: dict[str, str]) -> str:
    base = rows[0]
    lines = [
        SECTION,
        "",
        '`python bench/analysis/bench_scoring.py` — `analysis.score(frame, "sipas-service", '
        'by=["unit_code", "period"])` (month), every index with its interval, on seeded '
        'synthetic responses (700 units × 12 months, 16 criteria with "cannot judge" and '
        "blanks, HL, 6 expectations, 6 demographics). Each size runs in a fresh process; "
        "times are medians of the runs shown; the input frame is built before timing.",
        "",
        f"Machine: {host['cpu']}, {host['nproc']} cores, {host['memory']}; Python "
        f"{host['python']}, numpy {host['numpy']}, pandas {host['pandas']}. A shared machine: "
        "the last two columns show how busy it was for each size (1-minute load average, about "
        "1 being the benchmark itself, and the median time of a fixed `np.bincount` of 5M keys "
        "— about 12 ms when idle).",
        "",
        "| responses | groups | median s (min–max) | s per 1M | × 10k time | without node "
        "intervals s | count route s | RSS with data MB | peak RSS MB | score's own peak "
        "allocations MB | load | calibration ms |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        n = int(r["n"])  # type: ignore[call-overload]
        median = float(r["median_s"])  # type: ignore[arg-type]
        lines.append(
            f"| {n:,} | {r['groups']:,} | {median:.3f} ({float(r['min_s']):.3f}–"  # type: ignore[arg-type]
            f"{float(r['max_s']):.3f}), {r['runs']} runs | {median / n * 1e6:.2f} | "  # type: ignore[arg-type]
            f"{median / float(base['median_s']):.1f} | "  # type: ignore[arg-type]
            f"{float(r['no_intervals_median_s']):.3f} | "  # type: ignore[arg-type]
            f"{float(r['from_counts_median_s']):.4f} ({r['count_rows']:,} count rows) | "  # type: ignore[arg-type]
            f"{float(r['rss_after_data_mb']):.0f} | {float(r['rss_peak_mb']):.0f} | "  # type: ignore[arg-type]
            f"{float(r['score_alloc_peak_mb']):.0f} | {float(r['load']):.2f} | "  # type: ignore[arg-type]
            f"{float(r['calibration_ms']):.0f} |"  # type: ignore[arg-type]
        )
    lines += ["", growth(rows)]
    return "\n".join(lines) + "\n"


def growth(rows: list[dict[str, object]]) -> str:
    """How time grows with rows, in words, from the measured medians."""
    by_n = {int(r["n"]): float(r["median_s"]) for r in rows}  # type: ignore[call-overload, arg-type]
    parts = []
    sizes = sorted(by_n)
    for small, large in zip(sizes, sizes[1:], strict=False):
        parts.append(
            f"{small:,} → {large:,} rows (×{large / small:g}): time ×"
            f"{by_n[large] / by_n[small]:.1f}"
        )
    return (
        "Growth: " + "; ".join(parts) + ". Below about 100k rows the cost is set by the "
        "number of groups (unit × month × 29 reported rows each), above it by the rows: "
        "time per million rows is then roughly constant. Target: 1M rows by unit × month "
        "with every interval in under 2 s and 2 GB."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in RUNS))
    parser.add_argument("--runs", type=int, default=0, help="runs per size (default: by size)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.runs or RUNS.get(args.one, 3))))
        return
    host = machine()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(
            f"{n:>9,}: median {rows[-1]['median_s']:.3f} s, "
            f"peak RSS {rows[-1]['rss_peak_mb']:.0f} MB",
            file=sys.stderr,
        )
    text = markdown(rows, host)
    print(text)
    if not args.no_write:
        update_section("scoring", text)


if __name__ == "__main__":
    main()
