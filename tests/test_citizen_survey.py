"""The citizen survey through the Flask client, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import unicodedata
import uuid
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import MultiDict

from survey_app.db import get_session
from survey_app.models import Comment, Desk, QuestionnaireVersion, Response
from survey_app.services import response_store as responses
from survey_app.services.wide_export import answer_code

from .conftest import CRITERIA, Field, Survey, full_answers, hidden_fields


def count_responses(app: Flask) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Response)) or 0


def stored(app: Flask) -> list[Response]:
    with app.app_context():
        session = get_session()
        rows = session.scalars(select(Response).order_by(Response.id)).all()
        for row in rows:  # load what the tests look at before the session closes
            _ = (row.answers, row.comment, row.questionnaire_version)
        return list(rows)


# -- showing the form --------------------------------------------------------------------------


def test_the_form_is_vietnamese_with_every_question(client: FlaskClient, field: Field) -> None:
    response = client.get(f"/s/{field.desk}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="vi">' in html
    assert "Phiếu khảo sát sự hài lòng về sự phục vụ hành chính" in html
    assert "Bộ phận Một cửa xã Thử Nghiệm – Xã Thử Nghiệm" in html
    for code in ("TC1", "TT4", "CC3", "KQ1", "PA3", "HL", "Q10_5", "GENDER"):
        assert f'id="q-{code}"' in html
    assert html.count('type="radio" name="TC1"') == 6  # five levels and "Không đánh giá"
    assert html.count("<fieldset") == 29 and html.count("<legend>") == 29
    fields = hidden_fields(html)
    assert set(fields) == {"csrf_token", "form_token"}
    assert "<script" not in html  # works without JavaScript
    assert response.headers["Cache-Control"] == "private, max-age=0"


def test_the_optional_questions_fold_into_one_step(client: FlaskClient, field: Field) -> None:
    html = client.get(f"/s/{field.desk}").get_data(as_text=True)
    required, folded = html.split('<details class="more">')
    assert "Thêm ý kiến (không bắt buộc)" in folded
    for code in ("Q10_5", "comment", "GENDER", "EDU"):  # expectations, comment, about you
        assert f'id="q-{code}"' in folded and f'id="q-{code}"' not in required
    for code in (*CRITERIA, "HL"):
        assert f'id="q-{code}"' in required
    assert required.count('class="q req r') == 17 and "/17 " in required  # the progress line


@pytest.mark.parametrize(
    ("answers", "unfolded"),
    [
        ({}, False),
        ({"GENDER": "3"}, True),  # a problem in the optional step: shown open
        ({"comment": "Giữ lại"}, True),  # something typed there: shown open, kept
        ({"comment": ""}, False),
    ],
)
def test_a_form_shown_again_unfolds_the_optional_step_when_it_holds_something(
    survey: Survey, field: Field, answers: dict[str, str], unfolded: bool
) -> None:
    given = full_answers(**answers)
    del given["TC1"]  # so that the form is shown again
    html = survey.submit(field.desk, given).get_data(as_text=True)
    assert ('<details class="more" open>' in html) is unfolded
    assert html.count("<fieldset") == 29


def test_each_visit_gets_its_own_submission_id(survey: Survey, field: Field) -> None:
    assert survey.open(field.desk)["form_token"] != survey.open(field.desk)["form_token"]


def test_english_by_the_visible_switch_and_remembered(client: FlaskClient, field: Field) -> None:
    vi = client.get(f"/s/{field.desk}").get_data(as_text=True)
    assert f'href="/s/{field.desk}?lang=en"' in vi
    en = client.get(f"/s/{field.desk}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in en and "Satisfaction survey on administrative services" in en
    assert "Send" in en and "Very satisfied" in en
    again = client.get(f"/s/{field.desk}").get_data(as_text=True)  # the cookie remembers
    assert '<html lang="en">' in again and f'href="/s/{field.desk}?lang=vi"' in again


@pytest.mark.parametrize("code", ["NOPE99", "OLD1", "x" * 40, "%3Cscript%3E"])
def test_unknown_or_inactive_desk_is_a_friendly_404(
    client: FlaskClient, field: Field, code: str
) -> None:
    response = client.get(f"/s/{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Không tìm thấy quầy khảo sát" in html
    assert 'name="code"' in html  # a box to type the code from the poster
    assert "<script>" not in html


def test_desk_codes_ignore_letter_case(client: FlaskClient, field: Field) -> None:
    assert client.get(f"/s/{field.desk.lower()}").status_code == 200


def test_home_page_finds_a_desk_by_its_code(client: FlaskClient, field: Field) -> None:
    assert "Nhập mã quầy" in client.get("/").get_data(as_text=True)
    response = client.get("/s/", query_string={"code": " test1 "})
    assert response.status_code == 303 and response.headers["Location"] == "/s/TEST1"
    assert client.get("/s/", query_string={"code": "zzz"}).status_code == 404


# -- storing ---------------------------------------------------------------------------------


def test_a_complete_answer_is_stored_with_everything_recorded(
    app: Flask, survey: Survey, field: Field
) -> None:
    before = datetime.now(UTC)
    answers = full_answers(KQ1="0", Q10_7="3", GENDER="2", comment="Cán bộ nhiệt tình.")
    response = survey.submit(field.desk, answers)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/s/{field.desk}/cam-on"

    [row] = stored(app)
    assert row.channel == "qr" and row.valid and row.language == "vi"
    assert row.questionnaire_version.questionnaire == "sipas-service"
    assert row.questionnaire_version.version == 1
    assert row.submitted_at.tzinfo is not None and row.submitted_at >= before.replace(microsecond=0)
    assert row.duration_seconds is not None and row.duration_seconds >= 0
    assert not row.via_invitation and row.flags == ""
    got = {a.item: a.code for a in row.answers}
    assert got == {k: int(v) for k, v in answers.items() if k != "comment"}
    assert row.comment is not None and row.comment.text == "Cán bộ nhiệt tình."


def test_the_thank_you_page(client: FlaskClient, survey: Survey, field: Field) -> None:
    page = survey.submit(field.desk, full_answers(), follow_redirects=True)
    assert page.status_code == 200
    assert "Cảm ơn Ông/Bà đã đánh giá!" in page.get_data(as_text=True)


def test_resubmitting_the_same_form_stores_it_once(
    app: Flask, survey: Survey, field: Field
) -> None:
    hidden = survey.open(field.desk)
    first = survey.submit(field.desk, full_answers(), hidden)
    # Double tap, refresh of the POST, back button then submit (even with changed answers).
    again = [survey.submit(field.desk, full_answers(HL="1"), hidden) for _ in range(3)]
    assert first.status_code == 303
    assert all(
        r.status_code == 303 and r.headers["Location"] == first.headers["Location"] for r in again
    )
    [row] = stored(app)
    assert {a.item: a.code for a in row.answers}["HL"] == 5  # the first submission counts


def test_two_visits_are_two_responses(app: Flask, survey: Survey, field: Field) -> None:
    survey.submit(field.desk, full_answers())
    survey.submit(field.desk, full_answers())
    assert count_responses(app) == 2


def test_concurrent_double_submit_is_stored_once(app: Flask, field: Field) -> None:
    opener = app.test_client()
    hidden = hidden_fields(opener.get(f"/s/{field.desk}").get_data(as_text=True))
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def tap() -> None:
        client = app.test_client()
        client._cookies = opener._cookies  # the same browser: same session cookie
        barrier.wait()
        statuses.append(
            client.post(f"/s/{field.desk}", data={**hidden, **full_answers()}).status_code
        )

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [303] * 4
    assert count_responses(app) == 1


@pytest.mark.parametrize("closed", ["desk", "unit"])
def test_a_desk_closed_while_the_form_was_open_stores_nothing(
    app: Flask, survey: Survey, field: Field, closed: str
) -> None:
    hidden = survey.open(field.desk)
    with app.app_context():
        session = get_session()
        desk = session.scalar(select(Desk).where(Desk.code == field.desk))
        assert desk is not None
        if closed == "desk":
            desk.active = False
        else:
            desk.unit.active = False
        session.commit()
    response = survey.submit(field.desk, full_answers(comment="Ý kiến"), hidden)
    assert response.status_code == 404
    assert "Không tìm thấy quầy khảo sát" in response.get_data(as_text=True)
    with app.app_context():
        session = get_session()
        assert count_responses(app) == 0
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        assert session.scalar(select(func.count()).select_from(Comment)) == 0


# The one-statement submit path with its own unpinged pool is PostgreSQL's.
only_postgresql = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)


@only_postgresql
def test_a_submission_survives_a_dropped_database_connection(
    app: Flask, survey: Survey, field: Field
) -> None:
    # The submit pool does not ping before use: a connection that died since (a database restart,
    # an idle timeout) must cost the citizen nothing.
    survey.submit(field.desk, full_answers())  # the pool now holds a connection
    with app.app_context():
        session = get_session()
        killed = session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        session.commit()
    assert killed and killed >= 1
    response = survey.submit(field.desk, full_answers(comment="Sau khi mất kết nối"))
    assert response.status_code == 303
    assert count_responses(app) == 2
    assert [row.comment.text for row in stored(app) if row.comment] == ["Sau khi mất kết nối"]


@only_postgresql
def test_a_retry_after_a_lost_reply_is_stored_once(
    app: Flask, survey: Survey, field: Field, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worst case of that retry: the first try committed, then the connection died before
    # the reply came back. The second try must find the same UUID and thank, not store twice.
    real_run = responses._run_store
    tries: list[int] = []

    def commit_then_lose_the_reply(engine: Engine, params: dict[str, object]) -> int | None:
        tries.append(1)
        response_id = real_run(engine, params)
        if len(tries) == 1:
            raise DBAPIError(
                "INSERT …",
                None,
                OSError("server closed the connection"),
                connection_invalidated=True,
            )
        return response_id

    monkeypatch.setattr(responses, "_run_store", commit_then_lose_the_reply)
    response = survey.submit(field.desk, full_answers())
    assert response.status_code == 303
    assert "/cam-on" in response.headers["Location"]
    assert len(tries) == 2
    assert count_responses(app) == 1


# -- validation ------------------------------------------------------------------------------


def test_missing_answer_keeps_the_others_and_says_where(
    app: Flask, survey: Survey, field: Field
) -> None:
    answers = full_answers(TC2="5", comment="Giữ lại ý kiến này")
    del answers["CC2"]
    response = survey.submit(field.desk, answers)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Vui lòng xem lại 1 câu" in html
    assert '<a href="#q-CC2">Câu 9</a>' in html
    assert 'id="e-CC2">Vui lòng chọn một câu trả lời cho câu này.</p>' in html
    assert 'name="TC2" value="5" checked' in html and 'name="HL" value="5" checked' in html
    assert ">Giữ lại ý kiến này</textarea>" in html
    assert count_responses(app) == 0
    # Fixing the one answer stores the response, under the same submission id.
    fixed = survey.submit(field.desk, {**answers, "CC2": "3"}, hidden_fields(html))
    assert fixed.status_code == 303 and count_responses(app) == 1


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"TC1": "6"}, "Câu trả lời không hợp lệ"),
        ({"TC1": "-1"}, "Câu trả lời không hợp lệ"),
        ({"TC1": "bốn"}, "Câu trả lời không hợp lệ"),
        ({"HL": "0"}, "Câu trả lời không hợp lệ"),  # HL has no "cannot judge"
        ({"GENDER": "3"}, "Câu trả lời không hợp lệ"),
        ({"comment": "x" * 1001}, "Ý kiến dài 1.001 ký tự, quá giới hạn 1.000 ký tự"),
        ({"comment": "Xin chào\x07"}, "Ý kiến có ký tự không hợp lệ"),
        ({"comment": "Lỗi \ufffd mã"}, "Ý kiến có ký tự không hợp lệ"),
    ],
)
def test_bad_answers_get_a_vietnamese_message(
    app: Flask, survey: Survey, field: Field, answers: dict[str, str], message: str
) -> None:
    response = survey.submit(field.desk, full_answers(**answers))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_responses(app) == 0


def test_the_same_radio_twice_is_refused(app: Flask, survey: Survey, field: Field) -> None:
    hidden = survey.open(field.desk)
    data = MultiDict({**hidden, **full_answers()})
    data.add("TC1", "5")
    response = survey.client.post(f"/s/{field.desk}", data=data)
    assert response.status_code == 422 and count_responses(app) == 0


def test_an_unknown_question_is_refused(app: Flask, survey: Survey, field: Field) -> None:
    response = survey.submit(field.desk, full_answers(TC9="4"))
    assert response.status_code == 400
    assert "câu hỏi không thuộc phiếu khảo sát này" in response.get_data(as_text=True)
    assert count_responses(app) == 0


def test_comment_limits_and_normalisation(app: Flask, survey: Survey, field: Field) -> None:
    decomposed = unicodedata.normalize("NFD", "Thủ tục nhanh, cán bộ niềm nở.\r\nCảm ơn!")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    assert survey.submit(field.desk, full_answers(comment="ệ" * 1000)).status_code == 303
    assert survey.submit(field.desk, full_answers(comment=decomposed)).status_code == 303
    texts = [row.comment.text for row in stored(app) if row.comment]
    assert texts[0] == "ệ" * 1000
    # Stored NFC with one kind of line end, whatever the phone's keyboard sent.
    assert texts[1] == "Thủ tục nhanh, cán bộ niềm nở.\nCảm ơn!"
    assert unicodedata.is_normalized("NFC", texts[1])


def test_a_response_with_too_few_judged_criteria_is_kept_but_invalid(
    app: Flask, survey: Survey, field: Field
) -> None:
    answers = full_answers(**dict.fromkeys(CRITERIA[:9], "0"))
    assert survey.submit(field.desk, answers).status_code == 303  # 7 of 16 judged
    [row] = stored(app)
    assert not row.valid


# -- protection ------------------------------------------------------------------------------


def test_missing_or_wrong_csrf_keeps_the_answers(app: Flask, survey: Survey, field: Field) -> None:
    hidden = survey.open(field.desk)
    for csrf in (None, "forged"):
        data = {**hidden, **full_answers(TC3="2")}
        if csrf is None:
            del data["csrf_token"]
        else:
            data["csrf_token"] = csrf
        response = survey.client.post(f"/s/{field.desk}", data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Phiên làm việc đã hết hạn" in html
        assert 'name="TC3" value="2" checked' in html
    assert count_responses(app) == 0


def test_a_tampered_form_token_stores_nothing(app: Flask, survey: Survey, field: Field) -> None:
    hidden = survey.open(field.desk)
    hidden["form_token"] = hidden["form_token"][:-3] + "abc"
    response = survey.submit(field.desk, full_answers(), hidden)
    assert response.status_code == 400
    assert "Các câu trả lời vẫn được giữ nguyên" in response.get_data(as_text=True)
    assert count_responses(app) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/s/TEST1"),
        ("delete", "/s/TEST1"),
        ("post", "/qr/TEST1.svg"),
        ("post", "/"),
        ("patch", "/s/TEST1/cam-on"),
    ],
)
def test_wrong_methods_are_405(client: FlaskClient, field: Field, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert "Thao tác không được hỗ trợ" in response.get_data(as_text=True)
    assert "Allow" in response.headers


def test_a_huge_body_is_413(app: Flask, survey: Survey, field: Field) -> None:
    response = survey.submit(field.desk, full_answers(comment="a" * 200_000))
    assert response.status_code == 413
    assert "quá lớn" in response.get_data(as_text=True)
    assert count_responses(app) == 0


def test_bytes_that_are_not_utf8_are_refused(app: Flask, survey: Survey, field: Field) -> None:
    hidden = survey.open(field.desk)
    body = "&".join(f"{k}={v}" for k, v in {**hidden, **full_answers()}.items()).encode()
    body += b"&comment=C%E1n+b%F4"  # Windows-1258 bytes, percent-encoded
    response = survey.client.post(
        f"/s/{field.desk}", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400 and count_responses(app) == 0


def test_security_headers_and_compression(client: FlaskClient, field: Field) -> None:
    response = client.get(f"/s/{field.desk}", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_machine_clients_get_json_errors(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["status"] == 404


def test_health(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok\n"


def test_answers_are_stored_in_the_response_row(app: Flask, survey: Survey, field: Field) -> None:
    survey.submit(field.desk, full_answers())
    survey.submit(field.desk, full_answers(TC1="2"))
    with app.app_context():
        code = answer_code("TC1")
        counts = dict(get_session().execute(select(code, func.count()).group_by(code)).all())
    assert counts == {2: 1, 4: 1}


def test_a_response_is_tied_to_the_version_it_answered(
    app: Flask, survey: Survey, field: Field
) -> None:
    survey.submit(field.desk, full_answers())
    with app.app_context():
        session = get_session()
        version = session.scalar(select(QuestionnaireVersion))
        assert version is not None
        assert version.content["id"] == "sipas-service" and len(version.content_hash) == 64
        assert session.scalar(select(func.count()).select_from(Comment)) == 0


def test_stored_uuid_is_the_forms_submission_id(app: Flask, survey: Survey, field: Field) -> None:
    hidden = survey.open(field.desk)
    survey.submit(field.desk, full_answers(), hidden)
    [row] = stored(app)
    assert isinstance(row.uuid, uuid.UUID) and row.uuid.version == 4
