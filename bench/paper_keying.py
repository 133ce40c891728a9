"""Keying one 2023 household form entirely from the keyboard in Chromium (issue 15).

Starts the app on 127.0.0.1:5701 (a temporary SQLite database with one commune, a clerk and a
plan), signs the clerk in, and keys ``--forms`` complete sipas-2023 forms through
/officer/survey/<plan>/key with Playwright's keyboard only: the form number and Enter, one digit
per answer (Q2: three codes, then Enter), Enter in the comment box to save. Reports the
keystrokes that are answer codes and those beyond them, and the time per form (script speed:
what the page costs, not how fast a clerk types).

    .venv/bin/python -m bench.paper_keying [--forms 5] [--port 5701]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
from werkzeug.serving import make_server

import questionnaires
from survey_app import create_app, migrate
from survey_app.db import get_session, make_engine
from survey_app.models import Desk, PaperKeying, Unit
from survey_app.services import accounts, paper_keying, sample_plans

ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "bench-keying-password-2026"


def answers() -> dict[str, str]:
    out: dict[str, str] = {}
    for field in paper_keying.keying_fields(questionnaires.get("sipas-2023")):
        if field.kind == "choice":
            out[field.code] = str(field.codes[(len(field.code) + 1) % len(field.codes)])
        elif field.kind == "multi":
            out[field.code] = "136"
    return out


def key_form(page: Any, number: str, keyed: dict[str, str]) -> tuple[int, int]:
    codes = other = 0
    page.focus("#form_number")
    for digit in number:
        page.keyboard.press(digit)
    page.keyboard.press("Enter")
    other += 1 + len(number)
    for field in paper_keying.keying_fields(questionnaires.get("sipas-2023")):
        value = keyed.get(field.code, "")
        if field.kind == "text":
            page.keyboard.press("Enter")
            other += 1
            continue
        for digit in value:
            page.keyboard.press(digit)
            codes += 1
        if field.kind == "multi" or value == "":
            page.keyboard.press("Enter")
            other += 1
    return codes, other


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=5)
    parser.add_argument("--port", type=int, default=5701)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sipas-keying-"))
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        session = get_session()
        unit = Unit(code="B-XA", name="Xã Thử", kind="commune")
        session.add_all([unit, Desk(code="BXA", name="Một cửa", unit=unit)])
        session.flush()
        accounts.create_officer(
            session, username="thu1", password=PASSWORD, role="officer", unit=unit
        )
        frame = pd.DataFrame({"ma_ho": [f"H{k}" for k in range(50)], "xa": "B-XA"})
        table = sample_plans.read_frame(frame.to_csv(index=False).encode(), "k.csv")
        request = sample_plans.PlanRequest(
            name="bench", stratum_column="xa", unit_column="ma_ho", seed=1, sizes={"B-XA": 20}
        )
        plan = sample_plans.store(session, sample_plans.preview(session, table, request))
        session.commit()
        plan_id = plan.id
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{args.port}"
    from playwright.sync_api import sync_playwright

    seconds: list[float] = []
    counts: list[tuple[int, int]] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/officer/sign-in")
            page.fill("#username", "thu1")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/officer/**")
            keyed = answers()
            for n in range(1, args.forms + 1):
                page.goto(f"{base}/officer/survey/{plan_id}/key")
                start = time.perf_counter()
                counts.append(key_form(page, str(n), keyed))
                page.wait_for_selector(".flash.ok")
                seconds.append(time.perf_counter() - start)
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    with app.app_context():
        stored = len(get_session().query(PaperKeying).all())
    codes, other = counts[0]
    print(f"forms keyed: {stored}; items answered per form: {len(keyed)}")
    print(
        f"keystrokes per form: {codes} answer codes + {other} others: the form number "
        f"({len('1')} digit) and its Enter, Enter after the multi-choice Q2, Enter to save"
    )
    print(
        f"seconds per form (script): median {statistics.median(seconds):.2f} "
        f"(min {min(seconds):.2f}, max {max(seconds):.2f})"
    )


if __name__ == "__main__":
    main()
