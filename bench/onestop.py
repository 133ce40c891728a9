"""The one-stop system's API under load, and Decision 766 group 5 on a million dossiers.

    .venv/bin/python -m bench.onestop [--runs 3] [--write]

A fresh PostgreSQL database (``sipas_onestop_bench``), a province of 60 communes with two desks
each, gunicorn (2 workers) on 127.0.0.1:5301 (loopback only), and an HTTP client in this
process. Times are wall clock from the first byte sent to the whole answer parsed.

1. ``POST /api/v1/invitations``: 10,000 dossiers in one request (target ≤ 10 s).
2. ``POST /api/v1/dossiers``: 100,000 events (25,000 dossiers: received, returned, rated, and
   one petition with its handling per 20 dossiers …) as 10 requests of 10,000, and as one
   request of 100,000 (target ≤ 30 s).
3. Decision 766 group 5 for a month holding 1,000,000 dossiers and 50,000 petitions, every
   commune: ``GET /api/v1/decision766`` for the province (SQL counts + analysis), and
   ``analysis.decision766.group5`` on 1M-row frames alone (target ≤ 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .results import machine, update_section

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE = "sipas_onestop_bench"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
PORT = 5301
BASE = f"http://127.0.0.1:{PORT}"
COMMUNES = 60
SECRET = "benchmark-secret"
#: Fixed for the whole run, so events made twice are the same events (same fingerprints).
EVENTS_START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=20)


def sh(*args: str, check: bool = True) -> None:
    subprocess.run(args, check=check, capture_output=True)


def setup() -> str:
    """A fresh database with the province, its desks and a writing token; the token."""
    sh("dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE)
    sh("createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE)
    from survey_app import create_app
    from survey_app.db import get_session, make_engine
    from survey_app.migrate import upgrade
    from survey_app.models import Desk, Unit
    from survey_app.services import accounts

    engine = make_engine(URL)
    upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": URL, "SECRET_KEY": SECRET})
    with app.app_context():
        db = get_session()
        province = Unit(code="BQN", name="Tỉnh Bench", kind="province")
        db.add(province)
        for i in range(COMMUNES):
            commune = Unit(
                code=f"BQN-X{i:02d}", name=f"Xã {i:02d}", kind="commune", parent=province
            )
            db.add_all(
                [
                    commune,
                    Desk(code=f"B{i:02d}A", name=f"Quầy {i:02d}A", unit=commune),
                    Desk(code=f"B{i:02d}B", name=f"Quầy {i:02d}B", unit=commune),
                ]
            )
        _row, token = accounts.issue_token(
            db,
            name="bench",
            unit=None,
            created_by=None,
            scopes=("invitations:write", "dossiers:write"),
        )
        db.commit()
    return token


def desks() -> list[str]:
    return [f"B{i:02d}{s}" for i in range(COMMUNES) for s in "AB"]


def start_server() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SIPAS_DATABASE_URL": URL,
        "SIPAS_SECRET_KEY": SECRET,
        "SIPAS_PUBLIC_BASE_URL": BASE,
    }
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{PORT}", "--timeout",
         "300", "--log-level", "warning", "survey_app:create_app()"],
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 120  # a shared, busy machine starts slowly
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{BASE}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the app did not start")


def call(method: str, path: str, token: str, body: Any = None) -> tuple[int, Any, float]:
    started = time.perf_counter()
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        BASE + path,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            status, payload = answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        status, payload = error.code, json.loads(error.read() or b"{}")
    return status, payload, time.perf_counter() - started


def invitations_body(run: int) -> dict[str, Any]:
    returned = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    codes = desks()
    return {
        "dossiers": [
            {"dossier": f"R{run}-H40.{i:06d}", "desk": codes[i % len(codes)],
             "procedure": "1.001234", "returned_at": returned}
            for i in range(10_000)
        ]
    }  # fmt: skip


def events(prefix: str, count: int) -> list[dict[str, Any]]:
    """``count`` events: per dossier received, returned, rated, plus petitions."""
    codes = desks()
    rng = np.random.default_rng(766)
    base = EVENTS_START
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < count:
        desk = codes[i % len(codes)]
        received = base + timedelta(minutes=int(rng.integers(0, 10_000)))
        number = f"{prefix}-{i:07d}"
        out += [
            {"key": f"{number}-r", "type": "received", "dossier": number, "desk": desk,
             "at": received.isoformat(), "due_at": (received + timedelta(days=5)).isoformat()},
            {"key": f"{number}-t", "type": "returned", "dossier": number,
             "at": (received + timedelta(days=int(rng.integers(1, 8)))).isoformat()},
            {"key": f"{number}-v", "type": "rated", "dossier": number,
             "rating": "satisfied" if rng.random() < 0.9 else "not_satisfied",
             "at": (received + timedelta(days=8)).isoformat()},
        ]  # fmt: skip
        if i % 20 == 0:
            out += [
                {"key": f"{number}-p", "type": "petition", "petition": f"P{number}",
                 "dossier": number, "desk": desk, "at": (received + timedelta(days=1)).isoformat(),
                 "due_at": (received + timedelta(days=6)).isoformat()},
                {"key": f"{number}-h", "type": "petition_handled", "petition": f"P{number}",
                 "at": (received + timedelta(days=3)).isoformat()},
            ]  # fmt: skip
        else:
            out.append(
                {"key": f"{number}-o", "type": "due", "dossier": number,
                 "due_at": (received + timedelta(days=6)).isoformat(),
                 "at": (received + timedelta(hours=1)).isoformat()}
            )  # fmt: skip
        i += 1
    return out[:count]


def fill_month(month_start: datetime) -> None:
    """1,000,000 dossiers and 50,000 petitions settled in one month, over every commune's
    desks, written by PostgreSQL itself (generate_series) so filling takes seconds."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/" + DATABASE) as conn:
        conn.execute(
            """
            INSERT INTO onestop_dossiers (digest, desk_id, unit_id, procedure_code, received_at,
                due_at, returned_at, overdue_reported, rating, has_petition, settled_at)
            SELECT md5('d' || g), d.id, d.unit_id, '1.001234',
                   %(start)s + (g %% 2500000) * interval '1 second',
                   %(start)s + (g %% 2500000) * interval '1 second' + interval '5 days',
                   %(start)s + (g %% 2500000) * interval '1 second'
                       + (g %% 7) * interval '1 day',
                   g %% 97 = 0,
                   CASE WHEN g %% 10 = 0 THEN 'not_satisfied' WHEN g %% 3 = 0 THEN NULL
                        ELSE 'satisfied' END,
                   g %% 20 = 0,
                   %(start)s + (g %% 2500000) * interval '1 second'
                       + (g %% 7) * interval '1 day'
            FROM generate_series(1, 1000000) AS g
            JOIN desks AS d ON d.id = (SELECT min(id) FROM desks) + (g %% %(desks)s)
            """,
            {"start": month_start, "desks": COMMUNES * 2},
        )
        conn.execute(
            """
            INSERT INTO onestop_petitions (digest, dossier_id, desk_id, unit_id, received_at,
                due_at, handled_at, repeated, satisfied_votes, not_satisfied_votes, settled_at)
            SELECT md5('p' || g), NULL, d.id, d.unit_id,
                   %(start)s + (g * 40) * interval '1 second',
                   %(start)s + (g * 40) * interval '1 second' + interval '5 days',
                   %(start)s + (g * 40) * interval '1 second' + (g %% 8) * interval '1 day',
                   g %% 50 = 0, g %% 3, g %% 2,
                   %(start)s + (g * 40) * interval '1 second' + (g %% 8) * interval '1 day'
            FROM generate_series(1, 50000) AS g
            JOIN desks AS d ON d.id = (SELECT min(id) FROM desks) + (g %% %(desks)s)
            """,
            {"start": month_start, "desks": COMMUNES * 2},
        )
        conn.execute("ANALYZE onestop_dossiers")
        conn.execute("ANALYZE onestop_petitions")


def month_frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2026-05-01", tz="UTC")
    received = start + pd.to_timedelta(rng.integers(0, 25 * 86400, n), unit="s")
    due = received + pd.Timedelta(days=5)
    returned = received + pd.to_timedelta(rng.integers(0, 8, n), unit="D")
    d = pd.DataFrame(
        {
            "unit_code": pd.Categorical(rng.integers(0, COMMUNES, n).astype(str)),
            "due_at": due,
            "returned_at": returned.where(rng.random(n) < 0.95),
            "overdue_reported": rng.random(n) < 0.01,
            "rating": pd.Categorical(
                rng.choice(["satisfied", "not_satisfied", None], n, p=[0.6, 0.1, 0.3])  # type: ignore[list-item]
            ),
            "has_petition": rng.random(n) < 0.05,
        }
    )
    m = n // 20
    p_received = start + pd.to_timedelta(rng.integers(0, 25 * 86400, m), unit="s")
    p = pd.DataFrame(
        {
            "unit_code": pd.Categorical(rng.integers(0, COMMUNES, m).astype(str)),
            "due_at": p_received + pd.Timedelta(days=5),
            "handled_at": p_received + pd.to_timedelta(rng.integers(0, 8, m), unit="D"),
            "repeated": rng.random(m) < 0.02,
            "satisfied_votes": rng.integers(0, 3, m),
            "not_satisfied_votes": rng.integers(0, 3, m),
        }
    )
    return d, p


def calibration() -> float:
    """Seconds for a fixed piece of pure Python (about 0.2 s on an idle core): how busy the
    shared machine was, to compare runs made at different times."""
    started = time.perf_counter()
    sum(i * i for i in range(3_000_000))
    return time.perf_counter() - started


def fmt_times(times: list[float]) -> str:
    return (
        f"{statistics.median(times):.2f} s ({min(times):.2f}–{max(times):.2f}), {len(times)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    calibrations = [calibration()]
    token = setup()
    server = start_server()
    figures: dict[str, str] = {}
    try:
        # 1. invitations
        times = []
        for run in range(args.runs):
            status, body, seconds = call(
                "POST", "/api/v1/invitations", token, invitations_body(run)
            )
            assert status == 200 and len(body["invitations"]) == 10_000, (status, str(body)[:300])
            times.append(seconds)
        figures["invitations"] = fmt_times(times)
        print("invitations 10,000:", figures["invitations"], flush=True)

        # 2. dossier events, as 10 × 10,000 and as 1 × 100,000
        batched, single = [], []
        for run in range(args.runs):
            all_events = events(f"B{run}", 100_000)
            started = time.perf_counter()
            for k in range(10):
                status, body, _s = call(
                    "POST",
                    "/api/v1/dossiers",
                    token,
                    {"events": all_events[k * 10_000 : (k + 1) * 10_000]},
                )
                assert status == 200 and body["stored"] == 10_000, (status, str(body)[:300])
            batched.append(time.perf_counter() - started)
            status, body, seconds = call(
                "POST", "/api/v1/dossiers", token, {"events": events(f"S{run}", 100_000)}
            )
            assert status == 200 and body["stored"] == 100_000, (status, str(body)[:300])
            single.append(seconds)
        figures["events_batched"] = fmt_times(batched)
        figures["events_single"] = fmt_times(single)
        print("events 10×10,000:", figures["events_batched"], flush=True)
        print("events 1×100,000:", figures["events_single"], flush=True)
        # A repeat of the last request stores nothing and says so.
        status, body, seconds = call(
            "POST", "/api/v1/dossiers", token, {"events": events(f"S{args.runs - 1}", 100_000)}
        )
        summary = {k: v for k, v in body.items() if k != "already_stored_keys"}
        assert status == 200 and body["stored"] == 0, (status, summary)
        assert body["already_stored"] == 100_000, (status, summary)
        figures["events_repeat"] = f"{seconds:.2f} s"
        print("events repeat 100,000:", figures["events_repeat"], flush=True)

        # 3. Decision 766 group 5 on 1M dossiers in one month
        started = time.perf_counter()
        fill_month(datetime(2026, 4, 30, 17, 0, tzinfo=UTC))
        figures["fill"] = f"{time.perf_counter() - started:.1f} s"
        times = []
        for _run in range(max(args.runs, 5)):
            status, body, seconds = call(
                "GET", "/api/v1/decision766?unit=BQN&period=2026-05", token
            )
            assert status == 200 and body["rows"][0]["dossiers"] >= 1_000_000, str(body)[:300]
            assert len(body["rows"]) == COMMUNES + 1
            times.append(seconds)
        figures["d766_api"] = fmt_times(times)
        print("766 API, 1M dossiers:", figures["d766_api"], flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    from analysis import decision766 as d766

    d, p = month_frames(1_000_000)
    times = []
    for _run in range(5):
        started = time.perf_counter()
        result = d766.group5(d, p, by=["unit_code"], as_of=pd.Timestamp("2026-06-01", tz="UTC"))
        times.append(time.perf_counter() - started)
    assert len(result.to_frame()) == COMMUNES
    figures["d766_pandas"] = fmt_times(times)
    print("766 pandas, 1M dossiers:", figures["d766_pandas"], flush=True)
    load_after = os.getloadavg()[0]
    calibrations.append(calibration())
    figures["calibration"] = " and ".join(f"{c:.2f} s" for c in calibrations)
    sh("dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE, check=False)
    if args.write:
        write(figures, load_before, load_after)


def write(figures: dict[str, str], load_before: float, load_after: float) -> None:
    rows = [
        ("what", "median (min–max)", "target"),
        ("---", "---", "---"),
        (
            "`POST /api/v1/invitations`, 10,000 dossiers in one request (links + QR addresses)",
            figures["invitations"],
            "≤ 10 s",
        ),
        (
            "`POST /api/v1/dossiers`, 100,000 events as 10 requests of 10,000",
            figures["events_batched"],
            "≤ 30 s",
        ),
        ("same, one request of 100,000 events", figures["events_single"], "≤ 30 s"),
        (
            "same 100,000 events sent again (nothing stored: all already stored)",
            figures["events_repeat"],
            "",
        ),
        (
            "`GET /api/v1/decision766` for the province: one month of 1,000,000 dossiers and "
            f"50,000 petitions, {COMMUNES} communes (SQL counts + analysis + JSON)",
            figures["d766_api"],
            "≤ 2 s",
        ),
        (
            f"`analysis.decision766.group5` alone on 1,000,000-row frames, {COMMUNES} communes",
            figures["d766_pandas"],
            "≤ 2 s",
        ),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    body = f"""## The one-stop system's API and Decision 766 group 5 (issue 13, engineer onestop)

Machine: {machine()}. Measured {datetime.now(UTC):%d/%m/%Y} with `python -m bench.onestop`
(PostgreSQL, gunicorn with 2 workers on 127.0.0.1:{PORT}, client in the same machine; wall clock
from the request sent to the answer parsed). **A shared machine**: 8 sessions on 2 cores; the
1-minute load average was {load_before:.1f} before and {load_after:.1f} after; a fixed piece of
pure Python (0.2 s on an idle core) took {figures["calibration"]} before and after.

{table}

The 100,000 events are 25,000 dossiers × (received, due or petition + handled, returned,
rated), each applied to its dossier's facts in memory, then written in bulk: new dossiers,
petitions and event keys by COPY, changed dossiers updated by primary key. The million
dossiers were written by PostgreSQL itself (`generate_series`, {figures["fill"]}), as the
one-stop system would have sent them over the month.

Before and after (same session, 02/12/2026, load ≈ 12): with `IN (…)` lookups of 2,000 keys per
query, one request of 100,000 events took 118.7 s — psycopg prepares a statement after 5 runs,
and PostgreSQL's generic plan for `token_id = $1 AND key IN ($2 … $2001)` scanned every event of
the token (32 s for one such query in `EXPLAIN ANALYZE`). Joining `unnest(array)` instead makes
every key an index lookup whatever the plan: 21.5 s. Writing by COPY instead of an ORM bulk
INSERT (psycopg sent one INSERT per row) took `apply` on 20,000 events from 17 s to 3–5 s in a
profile; the figures above are with both changes. The repeat of 100,000 stored events costs the
lookups and the checks, and writes nothing.
"""
    update_section("onestop", body)


if __name__ == "__main__":
    main()
