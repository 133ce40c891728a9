"""Fixtures of the operations tests: the demo district with something in every table (kiosk
tablets and their submissions, reviews, handled comments, used invitations, API tokens, audit
events), and a comparison of every row of every table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, MetaData, Table, select

from survey_app.db import get_session
from survey_app.models import (
    Base,
    CommentFollowUp,
    Desk,
    FederationImport,
    InvitationUse,
    Officer,
    PaperForm,
    Response,
    ResponseReview,
    SampleUnit,
    Unit,
)
from survey_app.services import accounts, export_jobs, paper_keying
from survey_app.services.survey_demo import load_survey_demo

from ..conftest import enrolment_code, kiosk_response
from ..officer.conftest import load_demo, sign_in, tokens
from ..survey.test_paper_keying import household_form
from ..test_onestop_api import events_for

__all__ = ["tokens"]

#: Enough for comments on both sides of any cut-off, few enough to load fast on both backends.
DEMO_RESPONSES = 120


@pytest.fixture
def demo(app: Flask) -> Flask:
    """The demo district (a smaller year than the officer tests' one)."""
    return load_demo(app, DEMO_RESPONSES)


@pytest.fixture
def filled(demo: Flask) -> Flask:
    """The demo district plus a row in each table the demo leaves empty."""
    client = demo.test_client()
    sign_in(client, "admin")  # an audit event, and the admin's last sign-in time
    wrong = demo.test_client().post("/officer/sign-in", data={"username": "xem", "password": "x"})
    assert wrong.status_code == 401  # a sign-in attempt counted
    enrolled = client.post("/kiosk/api/enrol", json={"code": enrolment_code(demo, "DAMHA2")})
    assert enrolled.status_code == 201, enrolled.get_json()
    token = enrolled.get_json()["token"]
    sent = client.post(
        "/kiosk/api/responses",
        json=kiosk_response("DAMHA2"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert sent.status_code == 200, sent.get_json()
    with demo.app_context():
        db = get_session()
        admin = db.scalar(select(Officer).where(Officer.username == "admin"))
        assert admin is not None
        flagged = db.scalar(select(Response).order_by(Response.id))
        assert flagged is not None
        flagged.flags = "too_fast"
        db.add(
            ResponseReview(
                response_id=flagged.id, decision="exclude", note="Quá nhanh.", officer=admin
            )
        )
        commented = db.scalars(select(Response).where(Response.comment.has())).first()
        assert commented is not None
        db.add(
            CommentFollowUp(response_id=commented.id, note="Đã gọi điện giải thích.", officer=admin)
        )
        desk = db.scalar(select(Desk).where(Desk.code == "DAMHA2"))
        assert desk is not None
        db.add(InvitationUse(desk_id=desk.id, dossier_digest="ab" * 32, used_on=date.today()))
        unit = db.scalar(select(Unit).where(Unit.code == "QN-DAMHA"))
        accounts.issue_token(db, name="Hệ thống chỉ số", unit=unit, created_by=admin)
        _row, onestop_secret = accounts.issue_token(
            db, name="Hệ thống một cửa", unit=None, created_by=admin, scopes=("dossiers:write",)
        )
        # The province's household survey: a plan, its strata, drawn units and keyed forms.
        plan = load_survey_demo(db, seed=3)
        assert plan is not None
        stored_forms = select(PaperForm.form_number).where(PaperForm.plan_id == plan.id)
        waiting = db.scalar(
            select(SampleUnit.form_number).where(
                SampleUnit.plan_id == plan.id, SampleUnit.form_number.not_in(stored_forms)
            )
        )
        assert waiting is not None  # a form not returned yet: keyed once, by the admin
        paper_keying.key_form(db, plan, waiting, admin, household_form())
        # A queued export of all responses, and the record of a federation import.
        export_jobs.create(db, unit=unit, officer_id=admin.id, period=None)
        db.add(
            FederationImport(
                province_unit_id=unit.id,
                file_name="QN.json.gz",
                sha256="cd" * 32,
                exported_at=datetime.now(UTC),
                cells=1,
                questionnaires="sipas-service",
            )
        )
        db.commit()
    # The one-stop system's dossiers, events, a petition and an idempotent answer.
    stored = client.post(
        "/api/v1/dossiers",
        json={"events": events_for("DAMHA2", datetime.now(UTC) - timedelta(days=10))},
        headers={"Authorization": f"Bearer {onestop_secret}", "Idempotency-Key": "backup-1"},
    )
    assert stored.status_code == 200, stored.get_json()
    return demo


def every_row(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the models (and Alembic's), in primary-key order."""
    reflected = MetaData()
    reflected.reflect(engine, only=["alembic_version"])
    tables: list[Table] = [*Base.metadata.sorted_tables, reflected.tables["alembic_version"]]
    rows = {}
    with engine.connect() as connection:
        for table in tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [
                tuple(row) for row in connection.execute(select(table).order_by(*order))
            ]
    return rows


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
