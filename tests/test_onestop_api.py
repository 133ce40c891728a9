"""The one-stop system plugged in: write-scoped tokens, invitations (links, QR, idempotent),
dossier events (all-or-nothing, idempotent, nothing identifying stored), sending through a
provider played by a real HTTP server on loopback, and Decision 766 group 5 through the API
against a hand-worked month."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select, text

from survey_app.db import get_session
from survey_app.models import (
    IdempotentAnswer,
    OnestopDossier,
    OnestopEvent,
    OnestopPetition,
    Target,
    Unit,
)
from survey_app.services import accounts, invitations

from .conftest import TEST_SECRET, Field

#: The provider's port: in this engineer's range (5300-5399).
PROVIDER_PORT = 5377


@dataclass(frozen=True)
class Writers:
    everything: str
    commune: str
    read_only: str


@pytest.fixture
def writers(app: Flask, field: Field) -> Writers:
    with app.app_context():
        db = get_session()
        commune = db.scalar(select(Unit).where(Unit.code == field.commune))
        scopes = ("invitations:write", "dossiers:write")
        _r, everything = accounts.issue_token(
            db, name="một cửa tỉnh", unit=None, created_by=None, scopes=scopes
        )
        _r, local = accounts.issue_token(
            db, name="một cửa xã", unit=commune, created_by=None, scopes=scopes
        )
        _r, read_only = accounts.issue_token(db, name="chỉ đọc", unit=None, created_by=None)
        db.commit()
    return Writers(everything, local, read_only)


def post(client: FlaskClient, path: str, body: Any, token: str, **headers: str) -> Any:
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


NOW = datetime.now(UTC).replace(microsecond=0)
RETURNED = NOW - timedelta(days=1)


# -- invitations --------------------------------------------------------------------------------


def test_invitations_in_bulk_give_links_that_open_the_survey(
    client: FlaskClient, field: Field, writers: Writers
) -> None:
    dossiers = [
        {"dossier": f"000.00.12.H40-{i:04d}", "desk": field.desk, "procedure": field.service,
         "returned_at": _stamp(RETURNED), "key": f"k{i}"}
        for i in range(3)
    ]  # fmt: skip
    answer = post(client, "/api/v1/invitations", {"dossiers": dossiers}, writers.everything)
    assert answer.status_code == 200, answer.get_json()
    made = answer.get_json()["invitations"]
    assert [m["key"] for m in made] == ["k0", "k1", "k2"]
    tokens = [urlsplit(m["link"]).query.removeprefix("t=") for m in made]
    read = [invitations.verify(TEST_SECRET, t) for t in tokens]
    assert [r.dossier for r in read] == [d["dossier"] for d in dossiers]
    assert {r.desk_code for r in read} == {field.desk}
    assert {r.service_code for r in read} == {field.service}
    assert made[0]["link"].startswith(f"http://sipas.test/s/{field.desk}?t=")
    # The link opens the invitation's survey.
    path = urlsplit(made[0]["link"])
    assert client.get(f"{path.path}?{path.query}").status_code == 200
    # A repeat gives the very same links (idempotent, nothing stored).
    again = post(client, "/api/v1/invitations", {"dossiers": dossiers}, writers.everything)
    assert [m["link"] for m in again.get_json()["invitations"]] == [m["link"] for m in made]


def test_the_invitation_qr_scans_to_its_link(
    client: FlaskClient, field: Field, writers: Writers
) -> None:
    import zxingcpp
    from PIL import Image

    one = [{"dossier": "HS-1", "desk": field.desk, "returned_at": _stamp(RETURNED)}]
    made = post(client, "/api/v1/invitations", {"dossiers": one}, writers.everything).get_json()
    row = made["invitations"][0]
    png = client.get(
        urlsplit(row["qr_png"]).path, headers={"Authorization": f"Bearer {writers.everything}"}
    )
    assert png.status_code == 200 and png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [d.text for d in decoded] == [row["link"]]
    svg = client.get(
        urlsplit(row["qr_svg"]).path, headers={"Authorization": f"Bearer {writers.everything}"}
    )
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    inline = post(client, "/api/v1/invitations?qr=svg", {"dossiers": one}, writers.everything)
    assert inline.get_json()["invitations"][0]["qr"].startswith("<?xml")


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        ({"dossier": "HS-1", "desk": "NOPE1"}, "unknown_desk"),
        ({"dossier": "HS-1", "desk": "OLD1"}, "unknown_desk"),
        ({"dossier": "HS-1", "desk": "TEST1", "returned_at": "2026-05-01T08:00:00"}, "time_zone"),
        ({"dossier": "", "desk": "TEST1"}, "bad_field"),
        ({"dossier": "HS-1", "desk": "TEST1", "colour": "blue"}, "bad_field"),
        ({"dossier": "HS-1", "desk": "TEST1",
          "returned_at": _stamp(NOW + timedelta(days=2))}, "not_in_future"),
        ({"dossier": "HS-1", "desk": "TEST1",
          "returned_at": _stamp(NOW - timedelta(days=400))}, "expired"),
        ({"dossier": "HS-1", "desk": "TEST1",
          "send": {"channel": "sms", "phone": "0912345678", "consent": False}},
         "consent_required"),
    ],
)  # fmt: skip
def test_a_bad_dossier_refuses_the_whole_request_naming_it(
    client: FlaskClient, field: Field, writers: Writers, item: dict[str, Any], rule: str
) -> None:
    good = {"dossier": "HS-OK", "desk": field.desk, "returned_at": _stamp(RETURNED)}
    bad = {"returned_at": _stamp(RETURNED), **item}
    answer = post(
        client,
        "/api/v1/invitations",
        {"dossiers": [good, bad]},
        writers.everything,
        **{"Idempotency-Key": "k-" + rule},
    )
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid_dossiers" and body["status"] == 422
    assert body["problems_total"] == 1
    [problem] = body["problems"]
    assert problem["index"] == 1 and problem["rule"] == rule
    assert f"rule {rule}" in problem["message"] and "item 1" in problem["message"]


def test_write_scopes_and_unit_scope_are_enforced(
    client: FlaskClient, field: Field, writers: Writers
) -> None:
    one = {"dossiers": [{"dossier": "HS-1", "desk": field.other_desk,
                         "returned_at": _stamp(RETURNED)}]}  # fmt: skip
    refused = post(client, "/api/v1/invitations", one, writers.read_only)
    assert refused.status_code == 403 and "invitations:write" in refused.get_json()["message"]
    assert post(client, "/api/v1/dossiers", {"events": [{}]}, writers.read_only).status_code == 403
    # OTHER1 is the district's desk, outside the commune token's units.
    outside = post(client, "/api/v1/invitations", one, writers.commune)
    assert outside.status_code == 422
    assert outside.get_json()["problems"][0]["rule"] == "out_of_scope"
    assert post(client, "/api/v1/invitations", one, writers.everything).status_code == 200
    # Events: the commune may not touch a dossier received at the district's desk.
    t = _stamp(NOW - timedelta(days=3))
    received = {"key": "x1", "type": "received", "dossier": "HS-D", "desk": field.other_desk,
                "at": t}  # fmt: skip
    assert (
        post(client, "/api/v1/dossiers", {"events": [received]}, writers.everything).status_code
        == 200
    )
    returned = {"key": "x2", "type": "returned", "dossier": "HS-D", "at": t}
    answer = post(client, "/api/v1/dossiers", {"events": [returned]}, writers.commune)
    assert answer.status_code == 422
    assert answer.get_json()["problems"][0]["rule"] == "out_of_scope"


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps([1, 2]), json.dumps({"dossiers": []}), json.dumps({"other": [1]})],
)
def test_a_malformed_body_is_a_clear_400(
    client: FlaskClient, field: Field, writers: Writers, body: str
) -> None:
    answer = client.post(
        "/api/v1/invitations",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {writers.everything}"},
    )
    assert answer.status_code == 400 and answer.get_json()["message"]


# -- sending through a provider ----------------------------------------------------------------


class Provider:
    """A real HTTP server on loopback playing an SMS / Zalo ZNS gateway."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers["Content-Length"])
                provider.received.append(json.loads(self.rfile.read(length)))
                provider.headers.append(dict(self.headers))
                reply = json.dumps({"id": f"msg-{len(provider.received)}"}).encode()
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", PROVIDER_PORT), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def provider(app: Flask) -> Iterator[Provider]:
    running = Provider()
    app.config.update(
        INVITATION_SENDER="http",
        INVITATION_SENDER_URL=f"http://127.0.0.1:{PROVIDER_PORT}/send",
        INVITATION_SENDER_API_KEY="provider-key",
        INVITATION_SMS_TEMPLATE="Danh gia quay {desk}: {link}",
    )
    yield running
    running.close()


def test_invitations_are_sent_once_with_the_template_and_consent(
    app: Flask, client: FlaskClient, field: Field, writers: Writers, provider: Provider
) -> None:
    items = [
        {"dossier": "HS-SMS", "desk": field.desk, "returned_at": _stamp(RETURNED),
         "send": {"channel": "sms", "phone": "0912345678", "consent": True}},
        {"dossier": "HS-ZNS", "desk": field.desk, "returned_at": _stamp(RETURNED),
         "send": {"channel": "zalo_zns", "phone": "0987654321", "consent": True}},
    ]  # fmt: skip
    # Sending needs a key, so that a retry never sends twice.
    assert (
        post(client, "/api/v1/invitations", {"dossiers": items}, writers.everything).status_code
        == 400
    )
    headers = {"Idempotency-Key": "batch-1"}
    answer = post(client, "/api/v1/invitations", {"dossiers": items}, writers.everything, **headers)
    assert answer.status_code == 200, answer.get_json()
    rows = answer.get_json()["invitations"]
    assert [r["sent"]["ok"] for r in rows] == [True, True]
    assert [r["sent"]["provider_id"] for r in rows] == ["msg-1", "msg-2"]
    sms, zns = provider.received
    assert sms == {"channel": "sms", "to": "0912345678",
                   "text": f"Danh gia quay {field.desk}: {rows[0]['link']}"}  # fmt: skip
    assert zns["to"] == "84987654321" and zns["template_id"] == "sipas_invitation"
    assert zns["params"]["link"] == rows[1]["link"]
    assert provider.headers[0]["Authorization"] == "Bearer provider-key"
    # The retry is answered from the first answer: nothing is sent again.
    again = post(client, "/api/v1/invitations", {"dossiers": items}, writers.everything, **headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == answer.get_json()
    assert len(provider.received) == 2
    # The phone numbers are stored nowhere.
    with app.app_context():
        stored = get_session().scalars(select(IdempotentAnswer.body)).all()
    assert stored and not any("0912345678" in body for body in stored)


def test_a_provider_failure_is_reported_per_item(
    client: FlaskClient, field: Field, writers: Writers, provider: Provider
) -> None:
    provider.status = 503
    item = {"dossier": "HS-X", "desk": field.desk, "returned_at": _stamp(RETURNED),
            "send": {"channel": "sms", "phone": "0912345678", "consent": True}}  # fmt: skip
    answer = post(client, "/api/v1/invitations", {"dossiers": [item]}, writers.everything,
                  **{"Idempotency-Key": "fail-1"})  # fmt: skip
    assert answer.status_code == 200
    sent = answer.get_json()["invitations"][0]["sent"]
    assert sent["ok"] is False and "503" in sent["error"]


# -- dossier events ------------------------------------------------------------------------------


def events_for(desk: str, base: datetime) -> list[dict[str, Any]]:
    """Two dossiers and a petition: one returned on time and satisfied, one late and unhappy."""
    t = base
    return [
        {"key": "e1", "type": "received", "dossier": "HS-A", "desk": desk, "procedure": "SV1",
         "at": _stamp(t), "due_at": _stamp(t + timedelta(days=3))},
        {"key": "e2", "type": "returned", "dossier": "HS-A", "at": _stamp(t + timedelta(days=2))},
        {"key": "e3", "type": "rated", "dossier": "HS-A", "rating": "satisfied",
         "at": _stamp(t + timedelta(days=2))},
        {"key": "e4", "type": "received", "dossier": "HS-B", "desk": desk,
         "at": _stamp(t), "due_at": _stamp(t + timedelta(days=1))},
        {"key": "e5", "type": "returned", "dossier": "HS-B", "at": _stamp(t + timedelta(days=4))},
        {"key": "e6", "type": "petition", "petition": "PA-1", "dossier": "HS-B", "desk": desk,
         "at": _stamp(t + timedelta(days=4)), "due_at": _stamp(t + timedelta(days=9))},
        {"key": "e7", "type": "petition_handled", "petition": "PA-1",
         "at": _stamp(t + timedelta(days=5))},
        {"key": "e8", "type": "petition_rated", "petition": "PA-1", "rating": "not_satisfied",
         "at": _stamp(t + timedelta(days=6))},
    ]  # fmt: skip


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        db = get_session()
        return (
            db.scalar(select(func.count()).select_from(OnestopDossier)) or 0,
            db.scalar(select(func.count()).select_from(OnestopPetition)) or 0,
            db.scalar(select(func.count()).select_from(OnestopEvent)) or 0,
        )


def test_dossier_events_are_stored_once_and_without_the_numbers(
    app: Flask, client: FlaskClient, field: Field, writers: Writers
) -> None:
    events = events_for(field.desk, NOW - timedelta(days=10))
    first = post(client, "/api/v1/dossiers", {"events": events}, writers.everything)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {
        "received": 8, "stored": 8, "already_stored": 0, "already_stored_keys": []
    }  # fmt: skip
    assert _counts(app) == (2, 1, 8)
    again = post(client, "/api/v1/dossiers", {"events": events}, writers.everything)
    assert again.get_json()["stored"] == 0 and again.get_json()["already_stored"] == 8
    assert _counts(app) == (2, 1, 8)
    with app.app_context():
        db = get_session()
        b = db.scalar(select(OnestopDossier).where(OnestopDossier.rating.is_(None)))
        assert b is not None and b.has_petition and b.returned_at is not None
        petition = db.scalar(select(OnestopPetition))
        assert petition is not None and petition.not_satisfied_votes == 1
        assert petition.dossier_id == b.id
        # No column of any one-stop table holds a dossier or petition number.
        for table in ("onestop_dossiers", "onestop_petitions", "onestop_events"):
            for row in db.execute(text(f"SELECT * FROM {table}")):
                assert not any(str(value).startswith(("HS-", "PA-")) for value in row), table


def test_bad_events_are_refused_all_together_naming_record_and_rule(
    app: Flask, client: FlaskClient, field: Field, writers: Writers
) -> None:
    t = NOW - timedelta(days=5)
    events = [
        {"key": "ok", "type": "received", "dossier": "HS-1", "desk": field.desk, "at": _stamp(t)},
        {"key": "bad-desk", "type": "received", "dossier": "HS-2", "desk": "NOPE9",
         "at": _stamp(t)},
        {"key": "early", "type": "returned", "dossier": "HS-1",
         "at": _stamp(t - timedelta(hours=2))},
        {"key": "orphan", "type": "returned", "dossier": "HS-9", "at": _stamp(t)},
        {"key": "due", "type": "due", "dossier": "HS-1", "due_at": _stamp(t - timedelta(days=1)),
         "at": _stamp(t)},
        {"key": "naive", "type": "overdue", "dossier": "HS-1", "at": "2026-05-01T08:00:00"},
        {"key": "what", "type": "lost", "at": _stamp(t)},
    ]  # fmt: skip
    answer = post(client, "/api/v1/dossiers", {"events": events}, writers.everything)
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid_events" and body["problems_total"] == 6
    rules = {p["key"]: p["rule"] for p in body["problems"]}
    assert rules == {
        "bad-desk": "unknown_desk",
        "early": "after_received",
        "orphan": "received_first",
        "due": "due_after_received",
        "naive": "time_zone",
        "what": "unknown_type",
    }
    early = next(p for p in body["problems"] if p["key"] == "early")
    assert early["record"] == "dossier HS-1" and "event 2" in early["message"]
    assert "is before received at" in early["message"]
    assert _counts(app) == (0, 0, 0)  # all or nothing


def test_a_key_sent_again_with_other_content_is_refused(
    app: Flask, client: FlaskClient, field: Field, writers: Writers
) -> None:
    t = NOW - timedelta(days=5)
    event = {"key": "k1", "type": "received", "dossier": "HS-1", "desk": field.desk,
             "at": _stamp(t)}  # fmt: skip
    assert (
        post(client, "/api/v1/dossiers", {"events": [event]}, writers.everything).status_code == 200
    )
    changed = {**event, "dossier": "HS-2"}
    answer = post(client, "/api/v1/dossiers", {"events": [changed]}, writers.everything)
    assert answer.status_code == 422 and answer.get_json()["problems"][0]["rule"] == "key_reused"


def test_an_idempotency_key_replays_the_answer_or_refuses_another_body(
    app: Flask, client: FlaskClient, field: Field, writers: Writers
) -> None:
    events = events_for(field.desk, NOW - timedelta(days=10))
    headers = {"Idempotency-Key": "day-1"}
    first = post(client, "/api/v1/dossiers", {"events": events}, writers.everything, **headers)
    again = post(client, "/api/v1/dossiers", {"events": events}, writers.everything, **headers)
    assert again.get_json() == first.get_json() and again.get_json()["stored"] == 8
    assert again.headers["Idempotent-Replayed"] == "true"
    other = post(client, "/api/v1/dossiers", {"events": events[:1]}, writers.everything, **headers)
    assert other.status_code == 422 and other.get_json()["error"] == "idempotency_key_reused"
    assert _counts(app)[2] == 8


# -- Decision 766 group 5 ------------------------------------------------------------------------


def test_decision766_through_the_api_matches_the_hand_worked_month(
    app: Flask, client: FlaskClient, field: Field, writers: Writers
) -> None:
    """A month at TEST1 (commune T-COMMUNE): 4 dossiers — A on time and satisfied, B late,
    C on time but rated not satisfied, D on time with a petition; petitions P1 (about D,
    handled on time, 1 satisfied vote) and P2 (handled late).

    5.4: overdue 1/4 = 25 %, flagged (C, D) 2/4 = 50 % → 100 − 75 = 25 % → 25 × 6/90 = 1.6667
    5.2: on time 1/2 = 50 % → 50 × 6/90 = 3.3333
    5.3: failing 1 (P2 late) → (2 − 1)/2 = 50 % → 3.3333; total 8.3333 / 18."""
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    d = timedelta(days=1)

    def s(days: float) -> str:
        return _stamp(start + days * d)

    desk = field.desk
    events = [
        {"key": "a1", "type": "received", "dossier": "A", "desk": desk, "at": s(0), "due_at": s(5)},
        {"key": "a2", "type": "returned", "dossier": "A", "at": s(4)},
        {"key": "a3", "type": "rated", "dossier": "A", "rating": "satisfied", "at": s(4)},
        {"key": "b1", "type": "received", "dossier": "B", "desk": desk, "at": s(0), "due_at": s(2)},
        {"key": "b2", "type": "returned", "dossier": "B", "at": s(3)},
        {"key": "c1", "type": "received", "dossier": "C", "desk": desk, "at": s(1), "due_at": s(5)},
        {"key": "c2", "type": "returned", "dossier": "C", "at": s(2)},
        {"key": "c3", "type": "rated", "dossier": "C", "rating": "not_satisfied", "at": s(2)},
        {"key": "d1", "type": "received", "dossier": "D", "desk": desk, "at": s(1), "due_at": s(5)},
        {"key": "d2", "type": "returned", "dossier": "D", "at": s(3)},
        {"key": "p1", "type": "petition", "petition": "P1", "dossier": "D", "desk": desk,
         "at": s(4), "due_at": s(8)},
        {"key": "p2", "type": "petition_handled", "petition": "P1", "at": s(6)},
        {"key": "p3", "type": "petition_rated", "petition": "P1", "rating": "satisfied",
         "at": s(7)},
        {"key": "q1", "type": "petition", "petition": "P2", "desk": desk, "at": s(4),
         "due_at": s(6)},
        {"key": "q2", "type": "petition_handled", "petition": "P2", "at": s(9)},
    ]  # fmt: skip
    assert (
        post(client, "/api/v1/dossiers", {"events": events}, writers.everything).status_code == 200
    )
    with app.app_context():
        db = get_session()
        commune = db.scalar(select(Unit).where(Unit.code == field.commune))
        assert commune is not None
        db.add(Target(unit_id=commune.id, code="D766", period="2026-03", value=15))
        db.commit()
    answer = client.get(
        "/api/v1/decision766?unit=T-DISTRICT&period=2026-03",
        headers={"Authorization": f"Bearer {writers.read_only}"},
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["reference_calculation"] is True and "Tham khảo" in body["label"]
    rows = {r["unit_code"]: r for r in body["rows"]}
    district, commune_row = rows["T-DISTRICT"], rows["T-COMMUNE"]
    for row in (district, commune_row):  # everything is in the commune: same numbers
        assert row["dossiers"] == 4 and row["dossiers_overdue"] == 1
        assert row["dossiers_flagged"] == 2 and row["petitions"] == 2
        assert row["rate_5_4"] == pytest.approx(25.0)
        assert row["points_5_4"] == pytest.approx(25 * 6 / 90, abs=1e-4)
        assert row["rate_5_2"] == pytest.approx(50.0) and row["rate_5_3"] == pytest.approx(50.0)
        assert row["points"] == pytest.approx(8.3333, abs=1e-4)
    assert commune_row["rank"] == 1 and district["rank"] is None
    assert commune_row["target"] == 15 and commune_row["gap"] == pytest.approx(
        8.3333 - 15, abs=1e-3
    )
    # Transactions vs responses per desk: 4 dossiers returned, no survey response yet.
    assert body["desks"] == [
        {"desk_code": desk, "unit_code": "T-COMMUNE", "dossiers": 4, "responses": 0,
         "response_rate": 0.0}
    ]  # fmt: skip
    # Another month has none of them: full points by the empty rule.
    april = client.get(
        "/api/v1/decision766?unit=T-COMMUNE&period=2026-04",
        headers={"Authorization": f"Bearer {writers.read_only}"},
    ).get_json()
    assert april["rows"][0]["dossiers"] == 0 and april["rows"][0]["points"] == 18


def test_the_openapi_document_describes_the_writes(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"/invitations", "/dossiers", "/decision766"} <= set(document["paths"])
    post_dossiers = document["paths"]["/dossiers"]["post"]
    assert "All or nothing" in post_dossiers["description"]
    assert post_dossiers["parameters"][0]["name"] == "Idempotency-Key"


def test_the_migration_adds_scopes_with_read_for_old_tokens(app: Flask) -> None:
    from survey_app.db import get_engine

    with app.app_context():
        columns = {c["name"]: c for c in inspect(get_engine()).get_columns("api_tokens")}
    assert "scopes" in columns


def test_the_example_client_works_against_a_live_server(
    app: Flask, field: Field, writers: Writers, tmp_path: Any
) -> None:
    """docs/examples/onestop_client.py (stdlib only) against the app on 127.0.0.1:5311."""
    import subprocess
    import sys
    from pathlib import Path

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 5311, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script = Path(__file__).resolve().parent.parent / "docs" / "examples" / "onestop_client.py"
    env = {"SIPAS_URL": "http://127.0.0.1:5311", "SIPAS_TOKEN": writers.everything, "PATH": ""}
    try:
        qr_file = tmp_path / "receipt.svg"
        invited = subprocess.run(
            [sys.executable, str(script), "invite", "--desk", field.desk, "--dossier", "HS-77",
             "--qr", str(qr_file)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert invited.returncode == 0, invited.stderr
        link = invited.stdout.splitlines()[0]
        assert link.startswith(f"http://sipas.test/s/{field.desk}?t=")
        assert qr_file.read_text().startswith("<?xml")
        events_file = tmp_path / "events.json"
        events_file.write_text(json.dumps(events_for(field.desk, NOW - timedelta(days=10))))
        sent = subprocess.run(
            [sys.executable, str(script), "events", str(events_file)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert "stored 8, already stored 0" in sent.stdout, sent.stdout + sent.stderr
        bad = [{"key": "z", "type": "returned", "dossier": "NONE", "at": _stamp(NOW)}]
        events_file.write_text(json.dumps(bad))
        refused = subprocess.run(
            [sys.executable, str(script), "events", str(events_file)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 1 and "rule received_first" in refused.stdout
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_race_on_the_same_events_is_a_409_and_stores_nothing(
    app: Flask, client: FlaskClient, field: Field, writers: Writers, monkeypatch: Any
) -> None:
    """Two requests with the same new events: the second's check saw nothing stored (played
    here by hiding the stored keys and dossiers), its write collides, and it is told to resend."""
    from survey_app.services import onestop_events

    events = events_for(field.desk, NOW - timedelta(days=10))
    assert (
        post(client, "/api/v1/dossiers", {"events": events}, writers.everything).status_code == 200
    )
    monkeypatch.setattr(onestop_events, "_known_keys", lambda *args: {})
    monkeypatch.setattr(onestop_events, "_load_dossiers", lambda *args: {})
    monkeypatch.setattr(onestop_events, "_load_petitions", lambda *args: {})
    answer = post(client, "/api/v1/dossiers", {"events": events}, writers.everything)
    assert answer.status_code == 409 and answer.get_json()["error"] == "conflict"
    assert _counts(app) == (2, 1, 8)
