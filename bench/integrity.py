"""Scores nobody can stuff (issue 11): a normal month plus attacks, against a running app.

gunicorn (2 workers) serves the app on a fresh PostgreSQL database with the demo desks, the
door's counters in Redis (database 1) and one trusted proxy, so each simulated client has its
own address in X-Forwarded-For. Then:

1. **A normal month** of demo-like traffic (10 desks, office hours, each desk its own rate and
   level) is stored in simulated time through the one intake (``intake.store``, the same code
   and signals every channel uses), oldest first, from this process on the same database:
   a month cannot be replayed over HTTP in minutes without faking the server's clock.
2. **The issue's attacks over HTTP, in real time**: a flood from one address; 800 forms fetched,
   a 10 s wait, all posted (from 40 addresses, to get past the per-address limit); 300 kiosk
   responses with a real device token, backdated 3 minutes apart, while the real tablet's
   heartbeat says its queue is empty; forms fetched at one desk and posted to another.
3. **Two smarter attacks in simulated time** through the intake (no help from the door): a
   slow drip over one office day from 4 addresses; a patient kiosk posting one plausible
   response every 4 minutes all day, claimed times true, under the per-hour rule.

For each it prints the share flagged or refused, and the attacked desk's SIPAS over the month
in the default view (unflagged or kept) with and without the attack, against the 95% interval's
half-width of the desk's month without it; also with SCORE_FLAGGED=include (the old default).
The normal month's false-positive share is the share of its responses flagged.

    .venv/bin/python -m bench.integrity [--normal-scale 1.0] [--attack-size 1.0]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select

from bench.results import machine, update_section
from bench.server import running_app

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "benchmark-secret"
DESKS = ("DH01", "DH02", "DH03", "DH04", "TTDH1", "QTAN1", "DYEN1", "QAN1", "DBINH1", "QLAM1")
CRITERIA = "TC1 TC2 TC3 TT1 TT2 TT3 TT4 CC1 CC2 CC3 KQ1 KQ2 KQ3 PA1 PA2 PA3".split()
KIOSK_ITEMS = ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA", "HL")
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
AGENTS = [
    f"Mozilla/5.0 (Linux; Android {v}; SM-A{m}) AppleWebKit/537.36 Chrome/{c}.0 Mobile"
    for v, m, c in [(10 + i % 5, 100 + 7 * i, 118 + i % 8) for i in range(40)]
]
SETTINGS = {
    "SIPAS_TRUSTED_PROXIES": "1",
    "SIPAS_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/1",
}


# -- answers --------------------------------------------------------------------------------


def _code(latent: float) -> int:
    for code, cut in enumerate((-1.3, -0.45, 0.35, 1.75), start=1):
        if latent < cut:
            return code
    return 5


def person_answers(rng: random.Random, level: float) -> dict[str, int]:
    person = level + rng.gauss(0, 0.55)
    answers = {c: _code(person + rng.gauss(0, 0.6)) for c in CRITERIA}
    answers["HL"] = _code(person + 0.1 + rng.gauss(0, 0.45))
    return answers


def stuffed_answers(rng: random.Random) -> dict[str, int]:
    """What a stuffer sends: very satisfied, with a little noise so no two are identical."""
    answers = {c: 5 if rng.random() < 0.85 else 4 for c in CRITERIA}
    answers["HL"] = 5
    return answers


# -- the app in this process (same database, same secret) -------------------------------------


@dataclass
class Scenario:
    name: str
    desk: str
    attempted: int = 0
    refused: int = 0
    response_ids: list[int] = field(default_factory=list)
    flagged: int = 0
    stored: int = 0
    seconds: float = 0.0
    change: float | None = None
    change_include: float | None = None
    half_width: float | None = None
    note: str = ""

    @property
    def caught(self) -> float:
        return (self.refused + self.flagged) / self.attempted if self.attempted else float("nan")


def make_app(database_url: str) -> Any:
    from survey_app import create_app

    return create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False}
    )


def office_moments(rng: random.Random, day: datetime, rate: float) -> list[datetime]:
    """Poisson arrivals at ``rate`` per hour over a local office day (7:30–11:30, 13:30–17:00)."""
    moments = []
    for start, end in ((7.5, 11.5), (13.5, 17.0)):
        t = start + rng.expovariate(rate)
        while t < end:
            local = day.replace(hour=int(t), minute=int(t % 1 * 60), second=rng.randrange(60))
            moments.append(local.astimezone(UTC))
            t += rng.expovariate(rate)
    return moments


def store_one(
    session: Any,
    desk: Any,
    version: Any,
    at: datetime,
    answers: dict[str, int],
    *,
    duration: int,
    address: str | None,
    agent: str,
    channel: str = "qr",
    kiosk: Any = None,
) -> tuple[int, tuple[str, ...]]:
    from survey_app.services import intake, integrity

    digest = (
        integrity.source_digest(SECRET, address, agent, at.date()) if address is not None else None
    )
    stored = intake.store(
        intake.InSession(session, desk, submitted_at=at),
        intake.Received(
            uuid=uuid.uuid4(),
            checked=intake.check(version, answers),
            channel=channel,
            circumstances=integrity.Circumstances(
                duration, 10 if channel == "qr" else 6, kiosk=kiosk
            ),  # fmt: skip
            source_digest=digest,
            answered_at=at if channel == "kiosk" else None,
        ),
    )
    assert stored is not None
    return stored.id, stored.flags


def normal_month(app: Any, now: datetime, scale: float, rng: random.Random) -> tuple[int, int]:
    """Four weeks of office-hours traffic at every desk, oldest first. (stored, flagged)"""
    from survey_app.db import get_session
    from survey_app.models import Desk, Response
    from survey_app.services.questionnaire_store import current_version

    levels = {d: rng.uniform(0.2, 1.0) for d in DESKS}
    rates = {d: scale * rng.uniform(0.6, 2.5) for d in DESKS}
    moments: list[tuple[datetime, str]] = []
    first = (now - timedelta(days=28)).astimezone(LOCAL).replace(hour=0, minute=0, second=0)
    for k in range(29):
        day = first + timedelta(days=k)
        if day.weekday() >= 5:
            continue
        for desk in DESKS:
            moments += [(m, desk) for m in office_moments(rng, day, rates[desk]) if m < now]
    moments.sort()
    with app.app_context():
        session = get_session()
        desks = {d.code: d for d in session.scalars(select(Desk).where(Desk.code.in_(DESKS)))}
        version = current_version(session, "sipas-service")
        ids = []
        for i, (at, code) in enumerate(moments):
            response_id, _flags = store_one(
                session,
                desks[code],
                version,
                at,
                person_answers(rng, levels[code]),
                duration=max(12, int(rng.lognormvariate(4.2, 0.45))),
                address=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                agent=rng.choice(AGENTS),
            )
            ids.append(response_id)
            if i % 200 == 0:
                session.commit()
        session.commit()
        flagged = session.scalar(
            select(Response.id).where(Response.id.in_(ids), Response.flags != "").limit(1)
        )
        count = sum(
            1 for f in session.scalars(select(Response.flags).where(Response.id.in_(ids))) if f
        )
        del flagged
    return len(ids), count


# -- HTTP ------------------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str],
    body: bytes | None = None,
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Host": "bench", **headers})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


@dataclass
class Form:
    desk: str
    cookie: str
    hidden: dict[str, str]
    address: str
    agent: str


def fetch_form(port: int, desk: str, address: str, agent: str) -> Form:
    status, headers, html = request(
        port,
        "GET",
        f"/s/{desk}?again=1",
        headers={"X-Forwarded-For": address, "User-Agent": agent},
    )
    assert status == 200, (status, html[:300])
    cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
    return Form(desk, cookie, dict(HIDDEN.findall(html)), address, agent)


def post_form(port: int, form: Form, answers: dict[str, int], desk: str | None = None) -> int:
    data = urlencode({**form.hidden, **{k: str(v) for k, v in answers.items()}}).encode()
    status, _headers, _html = request(
        port,
        "POST",
        f"/s/{desk or form.desk}",
        headers={
            "X-Forwarded-For": form.address,
            "User-Agent": form.agent,
            "Cookie": form.cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=data,
    )
    return status


def parallel(jobs: list[Callable[[], int]], threads: int = 8) -> list[int]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda job: job(), jobs))


def attack_ids(app: Any, desk: str, since: datetime, channel: str | None = None) -> list[int]:
    from survey_app.db import get_session
    from survey_app.models import Desk, Response

    with app.app_context():
        query = (
            select(Response.id)
            .join(Desk, Desk.id == Response.desk_id)
            .where(Desk.code == desk, Response.submitted_at >= since)
        )
        if channel is not None:
            query = query.where(Response.channel == channel)
        return list(get_session().scalars(query))


def flood(port: int, app: Any, rng: random.Random, tag: int, attempts: int) -> Scenario:
    scenario = Scenario("flood: one address, fetch and post at once", "QAN1", attempts)
    since = datetime.now(UTC)
    address, agent = f"203.0.{tag % 200}.1", "python-requests/2.32"

    def one() -> int:
        form = fetch_form(port, scenario.desk, address, agent)
        return post_form(port, form, stuffed_answers(rng))

    started = time.monotonic()
    codes = parallel([one] * attempts)
    scenario.seconds = time.monotonic() - started
    scenario.refused = sum(c != 303 for c in codes)
    scenario.response_ids = attack_ids(app, scenario.desk, since)
    return scenario


def batch(port: int, app: Any, rng: random.Random, tag: int, forms: int) -> Scenario:
    scenario = Scenario(f"batch: {forms} forms fetched, 10 s wait, all posted (40 addresses)",
                        "DBINH1", forms)  # fmt: skip
    since = datetime.now(UTC)
    started = time.monotonic()
    fetched = parallel(
        [
            (
                lambda k=k: fetch_form(
                    port, scenario.desk, f"198.18.{tag % 200}.{k % 40}", AGENTS[k % 40]
                )
            )  # type: ignore[misc]  # fmt: skip
            for k in range(forms)
        ]
    )
    time.sleep(10)
    codes = parallel([lambda f=f: post_form(port, f, stuffed_answers(rng)) for f in fetched])
    scenario.seconds = time.monotonic() - started
    scenario.refused = sum(c != 303 for c in codes)
    scenario.response_ids = attack_ids(app, scenario.desk, since)
    return scenario


def wrong_desk(port: int, app: Any, rng: random.Random, tag: int, forms: int) -> Scenario:
    scenario = Scenario("forms fetched at DH01, posted to DH02", "DH02", forms)
    since = datetime.now(UTC)
    codes = [
        post_form(
            port,
            fetch_form(port, "DH01", f"198.19.{tag % 200}.{k}", AGENTS[k % 40]),
            person_answers(rng, 0.5),
            desk="DH02",
        )
        for k in range(forms)
    ]
    scenario.refused = sum(c == 400 for c in codes)
    scenario.response_ids = attack_ids(app, scenario.desk, since)
    return scenario


def kiosk_backdated(port: int, app: Any, rng: random.Random, responses: int) -> Scenario:
    from survey_app.db import get_session
    from survey_app.models import Desk
    from survey_app.services import kiosk_devices

    scenario = Scenario(f"kiosk token, {responses} answers backdated 3 min apart", "QLAM1",
                        responses)  # fmt: skip
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == scenario.desk))
        code = kiosk_devices.enrol_device(session, desk, "Máy tính bảng bị lộ", hours=1).code
        session.commit()
    status, _h, body = request(
        port,
        "POST",
        "/kiosk/api/enrol",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"code": code}).encode(),
    )
    assert status == 201, body[:300]
    auth = {"Authorization": f"Bearer {json.loads(body)['token']}",
            "Content-Type": "application/json"}  # fmt: skip
    # The real tablet at the desk, working normally: its heartbeat says nothing is queued.
    request(port, "POST", "/kiosk/api/heartbeat", headers=auth,
            body=json.dumps({"queue_length": 0}).encode())  # fmt: skip
    since = datetime.now(UTC)
    now = datetime.now(UTC)

    def one(k: int) -> int:
        answered = now - timedelta(minutes=3 * (responses - k))
        answers = {i: 5 if rng.random() < 0.8 else 4 for i in KIOSK_ITEMS}
        payload = {
            "id": str(uuid.uuid4()),
            "desk": scenario.desk,
            "questionnaire": "sipas-kiosk",
            "version": 1,
            "answers": answers,
            "language": "vi",
            "started_at": (answered - timedelta(seconds=rng.randint(25, 70))).isoformat(),
            "answered_at": answered.isoformat(),
        }
        status, _h, _b = request(port, "POST", "/kiosk/api/responses", headers=auth,
                                 body=json.dumps(payload).encode())  # fmt: skip
        return status

    started = time.monotonic()
    codes = [one(k) for k in range(responses)]  # the queue uploads one at a time, oldest first
    scenario.seconds = time.monotonic() - started
    scenario.refused = sum(c != 200 for c in codes)
    scenario.response_ids = attack_ids(app, scenario.desk, since, channel="kiosk")
    return scenario


# -- the smarter ones, in simulated time -----------------------------------------------------


def last_office_day(now: datetime) -> datetime:
    day = (now.astimezone(LOCAL) - timedelta(days=1)).replace(hour=0, minute=0, second=0)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def slow_drip(app: Any, now: datetime, rng: random.Random) -> Scenario:
    from survey_app.db import get_session
    from survey_app.models import Desk
    from survey_app.services.questionnaire_store import current_version

    scenario = Scenario("slow drip: 4 addresses, 100 over one office day", "DH03", 100)
    day = last_office_day(now) - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    moments = sorted(office_moments(rng, day, 100 / 7.5))[:100]
    scenario.attempted = len(moments)
    sources = [(f"100.64.{k}.{rng.randrange(255)}", AGENTS[k]) for k in range(4)]
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == scenario.desk))
        version = current_version(session, "sipas-service")
        for k, at in enumerate(moments):
            address, agent = sources[k % 4]
            response_id, _flags = store_one(session, desk, version, at, stuffed_answers(rng),
                                            duration=rng.randint(45, 150), address=address,
                                            agent=agent)  # fmt: skip
            scenario.response_ids.append(response_id)
        session.commit()
    return scenario


def patient_kiosk(app: Any, now: datetime, rng: random.Random) -> Scenario:
    from survey_app.db import get_session
    from survey_app.models import Desk
    from survey_app.services.integrity import KioskFacts
    from survey_app.services.questionnaire_store import current_version

    scenario = Scenario("patient kiosk: one every 4 min all office day, true times", "DH04")
    day = last_office_day(now)
    moments = []
    for start, end in ((7.5, 11.5), (13.5, 17.0)):
        t = start
        while t < end:
            moments.append(
                day.replace(hour=int(t), minute=int(t % 1 * 60), second=rng.randrange(60))
            )
            t += 4 / 60
    scenario.attempted = len(moments)
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == scenario.desk))
        version = current_version(session, "sipas-kiosk")
        previous: datetime | None = None
        arrivals: list[datetime] = []
        for at in (m.astimezone(UTC) for m in moments):
            facts = KioskFacts(
                arrivals_in_hour=sum(a > at - timedelta(hours=1) for a in arrivals),
                max_per_hour=30,
                queued=0,
                latest_claimed=previous,
                empty_queue_at=at - timedelta(seconds=30),
                claimed_at=at,
                heartbeat_seconds=60,
            )
            answers = {i: 5 if rng.random() < 0.8 else 4 for i in KIOSK_ITEMS}
            response_id, _flags = store_one(session, desk, version, at, answers,
                                            duration=rng.randint(25, 70), address=None,
                                            agent="", channel="kiosk", kiosk=facts)  # fmt: skip
            scenario.response_ids.append(response_id)
            previous = at
            arrivals.append(at)
        session.commit()
    return scenario


# -- measuring -------------------------------------------------------------------------------


def measure(app: Any, scenario: Scenario, now: datetime) -> None:
    import analysis
    import questionnaires
    from survey_app.db import get_session
    from survey_app.models import Desk, Response
    from survey_app.services.wide_export import load_responses

    with app.app_context():
        session = get_session()
        ids = scenario.response_ids
        flags = list(session.scalars(select(Response.flags).where(Response.id.in_(ids))))
        scenario.stored = len(flags)
        scenario.flagged = sum(1 for f in flags if f)
        desk = session.scalar(select(Desk).where(Desk.code == scenario.desk))
        assert desk is not None
        q = questionnaires.get("sipas-service")

        def sipas(mode: str, with_attack: bool) -> tuple[float, float]:
            rows = load_responses(session, q, unit_ids=None,
                                  start=now - timedelta(days=29), end=now + timedelta(hours=1),
                                  extra_where=[Response.desk_id == desk.id],
                                  score_flagged=mode)  # fmt: skip
            if not with_attack:
                rows = rows[~rows["response_id"].isin(ids)]
            table = analysis.score(rows, q).to_frame()
            row = table[table["code"] == "SIPAS"].iloc[0]
            return float(row["index"]), float(row["ci_high"] - row["ci_low"]) / 2

        if scenario.desk in DESKS and desk.questionnaire == "sipas-service":
            base, half = sipas("exclude", False)
            attacked, _ = sipas("exclude", True)
            old_base, _ = sipas("include", False)
            old_attacked, _ = sipas("include", True)
            scenario.change, scenario.half_width = attacked - base, half
            scenario.change_include = old_attacked - old_base


def run(scale: float, seed: int, size: float) -> str:
    rng = random.Random(seed)
    tag = os.getpid()
    lines = []
    with running_app("postgresql", workers=2, settings=SETTINGS) as server:
        app = make_app(server.database_url)
        now = datetime.now(UTC)
        started = time.monotonic()
        normal, flagged = normal_month(app, now - timedelta(minutes=30), scale, rng)
        month_seconds = time.monotonic() - started
        scenarios = [
            slow_drip(app, now, rng),
            patient_kiosk(app, now, rng),
            flood(server.port, app, rng, tag, int(1500 * size)),
            batch(server.port, app, rng, tag, int(800 * size)),
            kiosk_backdated(server.port, app, rng, int(300 * size)),
            wrong_desk(server.port, app, rng, tag, 20),
        ]
        for scenario in scenarios:
            measure(app, scenario, now)
        with app.app_context():
            from survey_app.db import get_database

            get_database().dispose()  # or the database cannot be dropped
    lines.append(
        f"Normal month: {normal} responses at {len(DESKS)} desks stored through the intake in "
        f"{month_seconds:.0f} s; flagged: {flagged} (**{100 * flagged / normal:.2f}%** "
        "false positives)."
    )
    lines.append("")
    lines.append(
        "| scenario | desk | attempted | refused | stored | flagged | flagged or refused "
        "| SIPAS change, default view | 95% CI half-width | change with SCORE_FLAGGED=include |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in scenarios:

        def fmt(value: float | None) -> str:
            return "–" if value is None else f"{value:+.2f}"

        lines.append(
            f"| {s.name} | {s.desk} | {s.attempted} | {s.refused} | {s.stored} | {s.flagged} "
            f"| **{100 * s.caught:.1f}%** | {fmt(s.change)} | "
            f"{'–' if s.half_width is None else f'{s.half_width:.2f}'} | {fmt(s.change_include)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--normal-scale", type=float, default=1.0,
                        help="multiply every desk's normal hourly rate")  # fmt: skip
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--attack-size", type=float, default=1.0,
                        help="multiply the HTTP attacks' sizes (1500, 800, 300)")  # fmt: skip
    args = parser.parse_args()
    started = time.monotonic()
    table = run(args.normal_scale, args.seed, args.attack_size)
    took = time.monotonic() - started
    body = (
        "## Integrity: scores nobody can stuff (bench/integrity.py, issue 11)\n\n"
        f"{machine()}; shared with 7 other sessions, so times are rough. Run took {took:.0f} s "
        "(PostgreSQL, gunicorn 2 workers, limiter counters in Redis db 1).\n\n"
        f"{table}\n\n"
        "Refused: 429 from the door's limits (or 400: a form posted to a desk it was not "
        "issued for). SIPAS change: the attacked desk's SIPAS over the month with the attack "
        "minus without it; flagged responses count only when kept by a reviewer (none are in "
        "this run). The slow drip and the patient kiosk run in simulated time through the "
        "intake, so the door's limits do not help them: only the signals do. The kiosk "
        "scenarios answer the kiosk questionnaire, which the desk's month score (sipas-service) "
        "does not include: their change is 0 by construction; what matters there is the share "
        "flagged or refused."
    )
    print(body)
    update_section("integrity", body)


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
