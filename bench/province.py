"""Province scale (issue 10): officer requests at 100k / 1M / 5M responses, read from the
stored score summaries.

``load``: a database with the demo district, 45 more communes of two desks each (~100 desks in
all), and N synthetic responses COPYed into the app's own schema (answers in
``responses.answer_codes``, a comment on one in ten, 1% flagged too_fast, some of those
excluded by review), then ``sipas scores rebuild`` (timed). ``time``: gunicorn with 3 workers on
that database, each officer request after a warm-up, p50/p95 of ``--runs`` runs, the peak RSS
of the workers (VmHWM).

    .venv/bin/python -m bench.province load --database sipas_scale_bench --responses 1000000
    .venv/bin/python -m bench.province time --database sipas_scale_bench --port 5410
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg

BIN = Path(sys.executable).parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
EXTRA_COMMUNES = 45


def environment(database: str, port: int = 5400) -> dict[str, str]:
    return {
        **os.environ,
        "SIPAS_DATABASE_URL": f"{POSTGRES}/{database}",
        "SIPAS_SECRET_KEY": "benchmark-secret",
        "SIPAS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }


def sipas(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "sipas"), *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def load(database: str, responses: int, seed: int = 5) -> dict[str, object]:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database])
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    env = environment(database)
    sipas(env, "db", "upgrade")
    sipas(env, "questionnaires", "publish")
    sipas(env, "demo", "load", "--responses", "0")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{database}"
    rng = random.Random(seed)
    import questionnaires
    from analysis.summaries import ResponseSums

    plan = ResponseSums(questionnaires.get("sipas-service")).plan
    items = list(zip(plan.columns, plan.allowed, strict=True))
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        district = cursor.execute("SELECT id FROM units WHERE code = 'QN-DH'").fetchone()
        assert district is not None
        for k in range(EXTRA_COMMUNES):
            unit = cursor.execute(
                "INSERT INTO units (code, name, kind, parent_id, active)"
                " VALUES (%s, %s, 'commune', %s, true) RETURNING id",
                (f"QN-X{k:02d}", f"Xã thử {k:02d}", district[0]),
            ).fetchone()
            assert unit is not None
            for side in "AB":
                cursor.execute(
                    "INSERT INTO desks (code, name, unit_id, questionnaire, active, created_at,"
                    " kiosk_questionnaire) VALUES (%s, %s, %s, 'sipas-service', true, now(),"
                    " 'sipas-kiosk')",
                    (f"X{k:02d}{side}", f"Quầy {side}", unit[0]),
                )
        desks = cursor.execute("SELECT id, unit_id FROM desks ORDER BY id").fetchall()
        version = cursor.execute(
            "SELECT id FROM questionnaire_versions WHERE questionnaire = 'sipas-service'"
        ).fetchone()
        officer = cursor.execute("SELECT id FROM officers ORDER BY id LIMIT 1").fetchone()
        assert version is not None and officer is not None
        level = {unit_id: rng.uniform(2.5, 4.6) for _desk, unit_id in desks}
        now = datetime.now(UTC)
        flagged: list[int] = []
        with cursor.copy(
            "COPY responses (id, uuid, desk_id, unit_id, channel, questionnaire_version_id,"
            " submitted_at, duration_seconds, language, valid, flags, via_invitation,"
            " answer_codes) FROM STDIN"
        ) as copy:
            for k in range(1, responses + 1):
                desk_id, unit_id = desks[rng.randrange(len(desks))]
                when = now - timedelta(seconds=rng.randrange(365 * 86400))
                base = level[unit_id] + rng.gauss(0, 0.7)
                codes: dict[str, int] = {}
                for name, allowed in items:
                    if rng.random() < 0.05 and 0 in allowed:
                        codes[name] = 0
                        continue
                    value = int(round(base + rng.gauss(0, 0.6)))
                    scale = [c for c in allowed if c > 0]
                    codes[name] = min(max(value, scale[0]), scale[-1])
                too_fast = rng.random() < 0.01
                if too_fast:
                    flagged.append(k)
                copy.write_row(
                    (
                        k,
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        desk_id,
                        unit_id,
                        rng.choice(("qr", "qr", "kiosk", "web")),
                        version[0],
                        when,
                        rng.randint(40, 400),
                        "vi",
                        True,
                        "too_fast" if too_fast else "",
                        False,
                        json.dumps(codes),
                    )
                )
        with cursor.copy("COPY comments (response_id, text) FROM STDIN") as copy:
            for k in range(1, responses + 1, 10):
                copy.write_row((k, "Phải chờ lâu, nên bố trí thêm người tiếp nhận."))
        with cursor.copy(
            "COPY response_reviews (response_id, decision, note, officer_id, decided_at) FROM STDIN"
        ) as copy:
            for k in flagged[::3]:
                copy.write_row((k, rng.choice(("exclude", "keep")), "", officer[0], now))
        cursor.execute(f"SELECT setval('responses_id_seq', {responses + 1})")
        connection.commit()
        connection.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    output = sipas(env, "scores", "rebuild")
    rebuild = time.perf_counter() - started
    with psycopg.connect(dsn) as connection:
        cells = connection.execute(
            "SELECT span, count(*), pg_size_pretty(sum(pg_column_size(sums))) "
            "FROM score_summary_cells GROUP BY span"
        ).fetchall()
        size = connection.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('responses')),"
            " pg_size_pretty(pg_total_relation_size('score_summary_cells'))"
        ).fetchone()
    result = {
        "responses": responses,
        "desks": len(desks),
        "load_s": round(loaded, 1),
        "rebuild_s": round(rebuild, 1),
        "rebuild_output": output.strip(),
        "cells": [list(c) for c in cells],
        "sizes": list(size or ()),
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


# -- timing ------------------------------------------------------------------------------------


def _token(env: dict[str, str]) -> str:
    code = (
        "from survey_app import create_app\n"
        "from survey_app.db import get_session\n"
        "from survey_app.services import accounts\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    db = get_session()\n"
        "    _row, secret = accounts.issue_token(db, name='bench', unit=None, created_by=None)\n"
        "    db.commit()\n"
        "    print(secret)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def _signed_in(base: str) -> urllib.request.OpenerDirector:
    from survey_app.services.demo import DEMO_OFFICERS

    username, password = DEMO_OFFICERS[0][0], DEMO_OFFICERS[0][1]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    opener.addheaders = [("User-Agent", "sipas-bench")]
    page = opener.open(f"{base}/officer/sign-in", timeout=60).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrf_token": token[1]}
    ).encode()
    opener.open(f"{base}/officer/sign-in", data=body, timeout=60).read()
    return opener


def _workers(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
    return found


def _peak_rss_mb(pids: list[int]) -> float:
    peak = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            pass
    return peak


def requests_to_time(year: int, month: int) -> list[tuple[str, str]]:
    quarter = (month - 1) // 3 + 1
    return [
        ("district dashboard, year", f"/officer/units/QN-DH?period={year}"),
        ("district dashboard, quarter", f"/officer/units/QN-DH?period={year}-Q{quarter}"),
        ("district dashboard, month", f"/officer/units/QN-DH?period={year}-{month:02d}"),
        ("province dashboard, year", f"/officer/units/QN?period={year}"),
        ("commune dashboard, year", f"/officer/units/QN-DH-QTAN?period={year}"),
        ("desk page, year", f"/officer/desks/QTAN1?period={year}"),
        ("/api/v1/scores district, year", f"/api/v1/scores?unit=QN-DH&period={year}"),
        ("XLSX report district, year", f"/officer/reports/units/QN-DH.xlsx?period={year}"),
        ("PDF report district, year", f"/officer/reports/units/QN-DH.pdf?period={year}"),
    ]


def time_requests(database: str, port: int, runs: int) -> list[dict[str, object]]:
    env = environment(database, port)
    token = _token(env)
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "survey_app:create_app()",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    table: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        opener = _signed_in(base)
        now = datetime.now(UTC) + timedelta(hours=7)
        for name, path in requests_to_time(now.year, now.month):
            times: list[float] = []
            status = 0
            size = 0
            for k in range(runs + 3):  # one warm-up per worker
                request = urllib.request.Request(base + path)
                if path.startswith("/api/"):
                    request.add_header("Authorization", f"Bearer {token}")
                started = time.perf_counter()
                try:
                    with opener.open(request, timeout=120) as answer:
                        body = answer.read()
                        status = answer.status
                except urllib.error.HTTPError as error:
                    body, status = error.read(), error.code
                elapsed = time.perf_counter() - started
                size = len(body)
                if k >= 3:
                    times.append(elapsed)
            times.sort()
            row = {
                "request": name,
                "status": status,
                "bytes": size,
                "p50_s": round(statistics.median(times), 3),
                "p95_s": round(times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], 3),
            }
            print(json.dumps(row, ensure_ascii=False), flush=True)
            table.append(row)
        rss = _peak_rss_mb(_workers(process.pid))
        table.append({"request": "worker peak RSS (VmHWM, MB)", "value": round(rss)})
        print(json.dumps(table[-1]), flush=True)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("load", "time"))
    parser.add_argument("--database", default="sipas_scale_bench")
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=5410)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.what == "load":
        load(args.database, args.responses)
    else:
        time_requests(args.database, args.port, args.runs)


if __name__ == "__main__":
    main()
