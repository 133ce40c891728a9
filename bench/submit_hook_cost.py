"""What the score summaries add to a submission: the web form's store (intake.store with
ByDeskCode, PostgreSQL) timed with the after-store hook and without, interleaved, in one process.

CPU of this process (the app's side) and of PostgreSQL (its backends, from /proc), per
submission, median of the rounds.

    .venv/bin/python -m bench.submit_hook_cost --database sipas_scale_bench [--count 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid

from bench.cpu import snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sipas_scale_bench")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["SIPAS_DATABASE_URL"] = (
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}"
    )
    os.environ.setdefault("SIPAS_SECRET_KEY", "benchmark-secret")
    from survey_app import create_app
    from survey_app.db import get_database
    from survey_app.services import intake, questionnaire_store
    from survey_app.services.integrity import Circumstances

    app = create_app()
    results: dict[str, list[tuple[float, float, float]]] = {"with hook": [], "without": []}
    with app.app_context():
        database = get_database()
        from survey_app.db import get_session

        version = questionnaire_store.current_version(get_session(), "sipas-service")
        raw = {
            code: "4" for code in ("TC1 TC2 TC3 TT1 TT2 TT3 TT4 CC1 CC2 CC3 KQ1 KQ2 KQ3".split())
        }
        raw.update({"PA1": "0", "PA2": "0", "PA3": "0", "HL": "5"})
        checked = intake.check(version, raw)
        hooks = intake.AFTER_STORE
        for _round in range(args.rounds):
            for name in ("with hook", "without"):
                intake.AFTER_STORE = hooks if name == "with hook" else ()
                before = snapshot(os.getpid())
                started = time.perf_counter()
                for _ in range(args.count):
                    received = intake.Received(
                        uuid=uuid.uuid4(),
                        checked=checked,
                        channel="qr",
                        circumstances=Circumstances(duration_seconds=90, min_seconds=20),
                    )
                    intake.store(intake.ByDeskCode(database, "QTAN1"), received)
                wall = (time.perf_counter() - started) / args.count * 1000
                after = snapshot(os.getpid())
                results[name].append(
                    (
                        wall,
                        (after.client - before.client) / args.count * 1000,
                        (after.postgres - before.postgres) / args.count * 1000,
                    )
                )
        intake.AFTER_STORE = hooks
    table = {
        name: {
            "wall_ms": round(statistics.median(r[0] for r in runs), 2),
            "app_cpu_ms": round(statistics.median(r[1] for r in runs), 2),
            "postgres_cpu_ms": round(statistics.median(r[2] for r in runs), 2),
        }
        for name, runs in results.items()
    }
    print(json.dumps(table))


if __name__ == "__main__":
    main()
