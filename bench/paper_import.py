"""Importing keyed paper forms (issue 15): 10,000 sipas-2023 household forms from one CSV,
each stored through the intake with its design row. Target ≤ 10 s.

    python -m bench.paper_import [--forms 10000] [--database-url URL] [--runs 3]

A fresh SQLite file per run unless --database-url names a PostgreSQL database (it is emptied).
Prints one line per run: seconds to read, check and store the file, and rows stored.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, text

from survey_app import create_app, migrate
from survey_app.db import get_session, make_engine
from survey_app.models import Desk, PaperForm, Unit
from survey_app.services import paper_keying, sample_plans

COMMUNES = 20


def frame_bytes(forms: int) -> bytes:
    per = forms // COMMUNES
    rows = [
        {"ma_ho": f"C{c:02d}-{h:05d}", "xa": f"B-C{c:02d}", "thon": f"T{h % 8}"}
        for c in range(COMMUNES)
        for h in range(per * 3)
    ]
    return pd.DataFrame(rows).to_csv(index=False).encode()


def keyed_bytes(forms: int, seed: int = 15) -> bytes:
    rng = random.Random(seed)
    rows = []
    for number in range(1, forms + 1):
        row = {"form_number": str(number)}
        for item, top in (("GENDER", 2), ("AGE", 5), ("EDU", 6), ("JOB", 7)):
            row[item] = str(rng.randint(1, top))
        for k in range(1, 10):
            row[f"Q1_{k}"] = str(rng.randint(1, 4))
        for k in range(1, 8):
            row[f"Q2_{k}"] = rng.choice("12")
        for k in range(1, 8):
            row[f"Q3_{k}"] = str(rng.randint(1, 4))
        row["Q5"], row["Q6"] = str(rng.randint(1, 3)), str(rng.randint(1, 3))
        for k in range(1, 40):
            row[f"Q9_{k}"] = str(rng.choice((2, 3, 4, 4, 5, 5)))
        for k in range(1, 11):
            row[f"Q10_{k}"] = str(rng.randint(1, 4))
        rows.append(row)
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8-sig")


def one_run(url: str, forms: int) -> tuple[float, int, int]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        session = get_session()
        root = Unit(code="B-TINH", name="Tỉnh", kind="province")
        session.add(root)
        for c in range(COMMUNES):
            unit = Unit(code=f"B-C{c:02d}", name=f"Xã {c}", kind="commune", parent=root)
            session.add_all([unit, Desk(code=f"B{c:02d}", name="Một cửa", unit=unit)])
        session.commit()
        frame = sample_plans.read_frame(frame_bytes(forms), "khung.csv")
        request = sample_plans.PlanRequest(
            name="bench", stratum_column="xa", unit_column="ma_ho", cluster_column="thon",
            seed=1, sizes={f"B-C{c:02d}": forms // COMMUNES for c in range(COMMUNES)},
        )  # fmt: skip
        plan = sample_plans.store(session, sample_plans.preview(session, frame, request))
        session.commit()
        data = keyed_bytes(forms)
        start, cpu = time.perf_counter(), time.process_time()
        report = paper_keying.import_file(session, plan, data, "phieu.csv")
        session.commit()
        seconds = time.perf_counter() - start
        print(f"  cpu {time.process_time() - cpu:.2f} s of this process (wall {seconds:.2f} s)")
        stored = session.scalar(select(func.count()).select_from(PaperForm)) or 0
        again = paper_keying.import_file(session, plan, data, "phieu.csv")
        session.commit()
        assert again.stored == 0 and again.already == report.stored
    return seconds, report.stored, int(stored)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            seconds, stored, rows = one_run(url, args.forms)
        times.append(seconds)
        print(f"run {run + 1}: {seconds:.2f} s, {stored} stored ({rows} paper_forms rows)")
    print(f"median {statistics.median(times):.2f} s for {args.forms} forms")


if __name__ == "__main__":
    main()
