"""Dossier invitations: one response per dossier; kind pages for used, tampered, expired links."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date, timedelta

import pytest
from flask import Flask
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select, text

from survey_app.db import get_session
from survey_app.models import Base, InvitationUse, Response
from survey_app.services import invitations

from .conftest import TEST_SECRET, Field, Survey, full_answers, hidden_fields

DOSSIER = "H40.22-241124-0001"


def token_for(desk: str, dossier: str = DOSSIER, days: int = 30, **kwargs: object) -> str:
    invitation = invitations.make_invitation(desk, dossier, days=days, **kwargs)  # type: ignore[arg-type]
    return invitations.sign(TEST_SECRET, invitation)


def test_tokens_round_trip_and_detect_tampering() -> None:
    invitation = invitations.make_invitation("test1", DOSSIER, days=7, service_code="SV1")
    token = invitations.sign(TEST_SECRET, invitation)
    assert invitations.verify(TEST_SECRET, token) == invitation
    assert invitation.desk_code == "TEST1"
    # Any change to the token, or another secret, is detected.
    payload, signature = token.rsplit(".", 1)
    middle = len(signature) // 2
    flipped = (
        signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    )
    for bad in (
        payload[:-2] + "xy." + signature,
        f"{payload}.{flipped}",
        token.replace(".", ".x", 1),
        "",
        "not-a-token",
        payload,
    ):
        with pytest.raises(invitations.InvitationError) as caught:
            invitations.verify(TEST_SECRET, bad)
        assert caught.value.kind == "invalid"
    with pytest.raises(invitations.InvitationError):
        invitations.verify("another secret", token)


def _decoded_parts(token: str) -> list[bytes]:
    """Every piece of the token, base64-decoded the way anyone reading a log could."""
    parts = []
    for piece in token.split("."):
        padded = piece + "=" * (-len(piece) % 4)
        try:
            parts.append(base64.urlsafe_b64decode(padded))
        except (binascii.Error, ValueError):
            parts.append(piece.encode())
    return parts


def test_a_token_carries_no_readable_dossier_number() -> None:
    token = token_for("TEST1", service_code="SV1")
    assert DOSSIER not in token
    for part in _decoded_parts(token):
        assert DOSSIER.encode() not in part and b"241124" not in part and b"TEST1" not in part
    # Encrypted with a fresh nonce: the same invitation never gives the same token twice.
    assert token_for("TEST1", service_code="SV1") != token


def test_a_link_printed_before_encryption_still_works_until_it_expires() -> None:
    legacy = URLSafeSerializer(
        TEST_SECRET, salt=invitations.SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    expires = date.today() + timedelta(days=3)
    token = legacy.dumps(["TEST1", DOSSIER, expires.toordinal(), None])
    assert invitations.verify(TEST_SECRET, token).dossier == DOSSIER
    with pytest.raises(invitations.InvitationError):
        invitations.verify(TEST_SECRET, token, today=expires + timedelta(days=1))


def test_tokens_expire() -> None:
    invitation = invitations.make_invitation("TEST1", DOSSIER, days=1, today=date(2026, 1, 1))
    token = invitations.sign(TEST_SECRET, invitation)
    assert invitations.verify(TEST_SECRET, token, today=date(2026, 1, 2)) == invitation
    with pytest.raises(invitations.InvitationError) as caught:
        invitations.verify(TEST_SECRET, token, today=date(2026, 1, 3))
    assert caught.value.kind == "expired"


@pytest.mark.parametrize("dossier", ["", "   ", "x" * 65, "H40\n0001"])
def test_bad_dossier_numbers_are_refused(dossier: str) -> None:
    with pytest.raises(ValueError, match="dossier number"):
        invitations.make_invitation("TEST1", dossier, days=30)


def test_an_invitation_allows_exactly_one_response(
    app: Flask, survey: Survey, field: Field
) -> None:
    token = token_for(field.desk, service_code=field.service)
    hidden = survey.open(field.desk, t=token)
    assert hidden["t"] == token
    # Opened in a second tab before the first was sent (forms are bound to their invitation).
    second_tab = survey.open(field.desk, t=token)
    assert survey.submit(field.desk, full_answers(), hidden).status_code == 303
    with app.app_context():
        row = get_session().scalar(select(Response))
        assert row is not None and row.via_invitation
        assert row.service is not None and row.service.code == field.service

    # Opening the link again: a kind "already answered" page.
    again = survey.client.get(f"/s/{field.desk}", query_string={"t": token})
    assert again.status_code == 409
    assert "Hồ sơ này đã được đánh giá" in again.get_data(as_text=True)
    # A second form opened before the first was sent cannot add a second response either.
    assert survey.submit(field.desk, full_answers(), hidden).status_code == 303  # same form: repeat
    late = survey.submit(field.desk, full_answers(), second_tab)
    assert late.status_code == 409
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Response)) == 1


def test_the_dossier_number_is_not_stored_anywhere(
    app: Flask, survey: Survey, field: Field
) -> None:
    token = token_for(field.desk)
    survey.submit(field.desk, full_answers(comment="Tốt"), survey.open(field.desk, t=token))
    with app.app_context():
        session = get_session()
        use = session.scalar(select(InvitationUse))
        assert use is not None and len(use.dossier_digest) == 64
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                assert DOSSIER not in repr(tuple(row)), table.name
                assert "241124" not in repr(tuple(row)), table.name


@pytest.mark.parametrize(
    ("make_token", "status", "message"),
    [
        (lambda: token_for("TEST1")[:-4] + "abcd", 400, "Liên kết khảo sát không hợp lệ"),
        (lambda: "garbage", 400, "Liên kết khảo sát không hợp lệ"),
        (lambda: token_for("OTHER1"), 400, "Liên kết khảo sát không hợp lệ"),  # another desk
        (
            lambda: invitations.sign(
                TEST_SECRET,
                invitations.make_invitation(
                    "TEST1", DOSSIER, days=1, today=date.today() - timedelta(days=5)
                ),
            ),
            410,
            "Liên kết khảo sát đã hết hạn",
        ),
    ],
)
def test_bad_links_get_a_clear_page_and_a_way_on(
    app: Flask, survey: Survey, field: Field, make_token: object, status: int, message: str
) -> None:
    token = make_token()  # type: ignore[operator]
    page = survey.client.get(f"/s/{field.desk}", query_string={"t": token})
    html = page.get_data(as_text=True)
    assert page.status_code == status and message in html
    assert f'href="/s/{field.desk}"' in html  # the general survey is still open to them
    # Posting with the bad token stores nothing.
    hidden = survey.open(field.desk)
    response = survey.submit(field.desk, full_answers(), {**hidden, "t": token})
    assert response.status_code == status
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Response)) == 0


def test_the_language_switch_keeps_the_invitation(survey: Survey, field: Field) -> None:
    token = token_for(field.desk)
    html = survey.client.get(f"/s/{field.desk}", query_string={"t": token}).get_data(as_text=True)
    assert f"t={token}" in html and "lang=en" in html


def test_invite_command_prints_a_working_link(app: Flask, field: Field, tmp_path: object) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["invite", "--desk", "test1", "--dossier", DOSSIER, "--days", "10"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("http://sipas.test/s/TEST1?t=")
    invitation = invitations.verify(TEST_SECRET, url.split("?t=")[1])
    assert (invitation.dossier, invitation.desk_code) == (DOSSIER, "TEST1")
    assert invitation.expires_on == date.today() + timedelta(days=10)
    client = app.test_client()
    assert "t" in hidden_fields(
        client.get(url.removeprefix("http://sipas.test")).get_data(as_text=True)
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--desk", "NOPE", "--dossier", "1"], "no active desk with code 'NOPE'"),
        (["--desk", "OLD1", "--dossier", "1"], "no active desk with code 'OLD1'"),
        (["--desk", "TEST1", "--dossier", "1", "--service", "ZZ"], "no service with code 'ZZ'"),
        (["--desk", "TEST1", "--dossier", "x" * 70], "dossier number must be"),
        (["--desk", "TEST1", "--dossier", "1", "--qr", "code.gif"], "must end in .png or .svg"),
    ],
)
def test_invite_command_refuses_bad_input(
    app: Flask, field: Field, args: list[str], message: str
) -> None:
    result = app.test_cli_runner().invoke(args=["invite", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_migrated_schema_has_no_link_from_invitations_to_responses(app: Flask) -> None:
    with app.app_context():
        columns = {c.name for c in InvitationUse.__table__.columns}
        assert columns == {"id", "desk_id", "dossier_digest", "used_on"}
        get_session().execute(text("SELECT 1"))
