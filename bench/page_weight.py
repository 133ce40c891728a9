"""What the survey page weighs for a first-time visitor, measured in Chromium.

Loads /s/<desk> in a fresh browser context (empty cache) from the app under gunicorn and sums,
over every request the page makes, the bytes on the wire (compressed body + headers, from
Playwright's request.sizes()) and the decoded bodies. Then submits a complete answer and weighs
the thank-you page the same way. Same-run baseline: the same page fetched without compression.

    .venv/bin/python -m bench.page_weight [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

from bench.results import machine, update_section
from bench.server import running_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CRITERIA = "TC1 TC2 TC3 TT1 TT2 TT3 TT4 CC1 CC2 CC3 KQ1 KQ2 KQ3 PA1 PA2 PA3 HL".split()


def weigh(page: Any, action: Any) -> dict[str, int]:
    """Bytes of every request made while `action` runs (until the network is idle)."""
    finished: list[Any] = []

    def record(request: Any) -> None:
        finished.append(request)

    page.on("requestfinished", record)
    action()
    page.wait_for_load_state("networkidle")
    page.remove_listener("requestfinished", record)
    wire = decoded = 0
    for request in finished:
        sizes = request.sizes()
        wire += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        response = request.response()
        if response is not None and response.status < 300:
            decoded += len(response.body())
    return {"requests": len(finished), "wire": wire, "decoded": decoded}


def submit(page: Any) -> None:
    page.click("button[type=submit]")
    page.wait_for_url("**/cam-on")


def measure(base_url: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    form: list[dict[str, int]] = []
    thanks: list[dict[str, int]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
            page = context.new_page()
            form.append(weigh(page, partial(page.goto, f"{base_url}/s/DH01?again=1")))
            for code in CRITERIA:
                page.check(f'input[name="{code}"][value="4"]')
            thanks.append(weigh(page, partial(submit, page)))
            context.close()
        browser.close()
    with urllib.request.urlopen(f"{base_url}/s/DH01") as response:  # no Accept-Encoding
        uncompressed = len(response.read())
    return {
        "form": {k: int(statistics.median(r[k] for r in form)) for k in form[0]},
        "thanks": {k: int(statistics.median(r[k] for r in thanks)) for k in thanks[0]},
        "form_uncompressed_body": uncompressed,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    with running_app("sqlite", workers=2) as server:
        result = measure(server.base_url, args.runs)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        write(result)


def write(result: dict[str, Any]) -> None:
    form, thanks, kb = result["form"], result["thanks"], 1024
    raw = result["form_uncompressed_body"]
    lines = [
        "## Survey page weight (survey_app/)",
        "",
        f"Machine: {machine()}. Measured {time.strftime('%d/%m/%Y')} with "
        "`python -m bench.page_weight` (Debian Chromium, fresh context, 360×740, median of "
        f"{result['runs']} loads; app under gunicorn).",
        "",
        "| what a first-time visitor loads | requests | on the wire | decoded |",
        "|---|---|---|---|",
        f"| survey form `/s/DH01` (all sub-resources) | {form['requests']} | "
        f"{form['wire'] / kb:.1f} KB | {form['decoded'] / kb:.1f} KB |",
        f"| submit → thank-you page | {thanks['requests']} | "
        f"{thanks['wire'] / kb:.1f} KB | {thanks['decoded'] / kb:.1f} KB |",
        "",
        f"Same-run baseline: the form's HTML without compression is {raw / kb:.1f} KB; "
        f"compressed it is {form['wire'] / raw:.2f} of that, headers included. "
        "Target (issue 2): ≤ 15 KB on the wire. The Django survey app we compare with "
        f"sends about 200 KB: {200 * kb / form['wire']:.0f}× more. The page has no script, "
        "no font, no image and no separate style sheet (the CSS is inlined under a CSP hash), "
        "so one request is the whole page.",
    ]
    update_section("page-weight", "\n".join(lines))


if __name__ == "__main__":
    main()
