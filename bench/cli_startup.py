"""How long `sipas --help` takes to start, against a bare Python on the same machine.

Runs `python -c pass` and `sipas --help` alternately (so load on the shared machine hits both
alike), five times each by default, and reports medians and their ratio.

    .venv/bin/python -m bench.cli_startup [--runs 5] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.results import machine, update_section

BIN = Path(sys.executable).parent


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, float]:
    bare: list[float] = []
    sipas: list[float] = []
    for _ in range(runs):
        bare.append(seconds([sys.executable, "-c", "pass"]))
        sipas.append(seconds([str(BIN / "sipas"), "--help"]))
    return {
        "python_pass": statistics.median(bare),
        "sipas_help": statistics.median(sipas),
        "ratio": statistics.median(sipas) / statistics.median(bare),
        "runs": runs,
    }


def write(result: dict[str, float]) -> None:
    lines = [
        "## `sipas --help` start-up (survey_app/cli.py)",
        "",
        f"Machine: {machine()}. Measured {time.strftime('%d/%m/%Y')} with "
        f"`python -m bench.cli_startup` (medians of {result['runs']:.0f} runs, alternating).",
        "",
        "| command | median |",
        "|---|---|",
        f"| `python -c pass` (baseline) | {result['python_pass']:.2f} s |",
        f"| `sipas --help` | {result['sipas_help']:.2f} s ({result['ratio']:.1f}× the baseline) |",
        "",
        "Before (main at f289cb4, same machine, 02/12/2026): median 8.3 s of 5 (5.1–13.0 s; "
        "the issue saw 10–22 s), because importing the command loaded the whole app, pandas and "
        "scipy. Now the command imports click and Flask only and lists its commands without "
        "building the app; a command imports what it uses when it runs. Target (issue 14): "
        "≤ 1 s. What is left is mostly importing Flask itself.",
    ]
    update_section("cli-startup", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = measure(args.runs)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        write(result)


if __name__ == "__main__":
    main()
