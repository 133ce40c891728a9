"""The CSV of all responses built in the background (issue 10, item 4): the file ends with its
end marker and row count, a job whose process is killed reads as failed and offers no file,
only officers whose scope holds the unit get the file, and old files are cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import analysis
from survey_app.db import get_engine, get_session
from survey_app.models import ExportJob, Response, Unit, utcnow
from survey_app.services import export_jobs
from survey_app.services.accounts import UnitTree
from survey_app.services.responses_csv import END_MARKER, IncompleteExport, check_file


@pytest.fixture
def demo(demo: Flask, tmp_path: Path) -> Flask:
    """The demo app, its jobs writing under the test's own folder (not the instance folder)."""
    demo.config["EXPORT_FOLDER"] = str(tmp_path / "exports")
    return demo


@pytest.fixture
def export_folder(demo: Flask) -> Path:
    return Path(demo.config["EXPORT_FOLDER"])


def _file(client: FlaskClient, token: str) -> tuple[int, bytes, str]:
    """(status, body, mimetype) of a job's download, the file handle closed."""
    response = client.get(f"/officer/reports/exports/{token}/file")
    try:
        return response.status_code, response.get_data(), response.mimetype
    finally:
        response.close()


def _wait(client: FlaskClient, token: str, seconds: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        state = client.get(f"/officer/reports/exports/{token}.json").get_json()
        if state["status"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(state)
        time.sleep(0.1)


def _responses_in(app: Flask, code: str) -> int:
    with app.app_context():
        db = get_session()
        unit = db.scalars(select(Unit).where(Unit.code == code)).one()
        ids = UnitTree.load(db).subtree_ids(unit.id)
        return db.scalar(select(func.count()).where(Response.unit_id.in_(ids))) or 0


def _start(client: FlaskClient, code: str, query: str = "") -> str:
    page = client.get(f"/officer/reports/units/{code}/exports{query}")
    assert page.status_code == 200
    assert "Tạo tệp CSV" in page.get_data(as_text=True)
    started = client.post(f"/officer/reports/units/{code}/exports{query}")
    assert started.status_code == 303
    location = started.headers["Location"]
    assert "/officer/reports/exports/" in location
    return location.rsplit("/", 1)[1]


def test_a_job_writes_every_response_then_the_end_marker(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], tmp_path: Path
) -> None:
    # A response the intake flagged itself (its summaries are consistent with its flags).
    with demo.app_context():
        excluded = (
            get_session()
            .scalars(select(Response.id).where(Response.flags != "").order_by(Response.id.desc()))
            .first()
        )
        assert excluded is not None
    client = signed_in("damha")
    assert (
        client.post(
            f"/officer/review/{excluded}", data={"decision": "exclude", "note": "t"}
        ).status_code
        == 302
    )
    token = _start(client, "QN-DH")
    assert len(token) >= 43  # 32 random bytes: not guessable
    state = _wait(client, token)
    expected = _responses_in(demo, "QN-DH")
    assert expected == 400
    assert state["status"] == "done", state
    assert state["rows_written"] == state["rows_expected"] == expected
    page = client.get(f"/officer/reports/exports/{token}").get_data(as_text=True)
    assert "Hoàn tất" in page and f"#sipas-end rows={expected}" in page
    status, data, mimetype = _file(client, token)
    assert status == 200 and mimetype == "text/csv"
    assert data.startswith("\ufeff".encode())
    assert data.endswith(f"{END_MARKER}{expected}\n".encode())
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    assert check_file(path) == expected
    # The file is the streamed CSV plus the marker line: same rows, same bytes.
    streamed = client.get("/officer/reports/units/QN-DH/responses.csv").get_data()
    assert data == streamed + f"{END_MARKER}{expected}\n".encode()
    # analysis reads it (the marker checked and dropped) and sees the exclusion.
    rows = analysis.read_responses(path)
    assert len(rows) == expected
    marked = rows[rows["response_id"] == str(excluded)].iloc[0]
    assert marked["valid"] == "0" and "excluded_by_review" in marked["flags"]
    with demo.app_context():
        statuses = get_session().scalars(select(ExportJob.status)).all()
        assert statuses == ["done"]


def test_a_period_job_holds_only_that_period(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("damha")
    with demo.app_context():
        newest = get_session().scalar(select(func.max(Response.submitted_at)))
        assert newest is not None
    month = newest.strftime("%Y-%m")
    token = _start(client, "QN-DH", f"?period={month}")
    assert _wait(client, token)["status"] == "done"
    text = _file(client, token)[1].decode()
    body = text.lstrip("\ufeff").splitlines()
    streamed = client.get(f"/officer/reports/units/QN-DH/responses.csv?period={month}")
    assert body[:-1] == streamed.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert body[-1] == f"{END_MARKER}{len(body) - 2}"
    assert 0 < len(body) - 2 < 400


def test_a_cut_file_is_refused_by_the_check_and_by_analysis(tmp_path: Path) -> None:
    whole = "\ufeffresponse_id,unit_code,TC1\n1,X,5\n2,X,4\n#sipas-end rows=2\n"
    path = tmp_path / "whole.csv"
    path.write_text(whole, encoding="utf-8")
    assert check_file(path) == 2
    cut = tmp_path / "cut.csv"
    cut.write_text(whole[: whole.index("2,X")], encoding="utf-8")
    with pytest.raises(IncompleteExport, match="not the end marker"):
        check_file(cut)
    lying = tmp_path / "lying.csv"
    lying.write_text(whole.replace("rows=2", "rows=3"), encoding="utf-8")
    with pytest.raises(IncompleteExport, match="counts 3 rows but the file has 2"):
        check_file(lying)
    with pytest.raises(analysis.DataError, match="counts 3 responses but the file has 2"):
        analysis.read_responses(lying)
    assert len(analysis.read_responses(path)) == 2


SLOW_RUNNER = """
import sys, time
from pathlib import Path
from survey_app.db import make_engine
from survey_app.services import export_jobs, responses_csv

original = responses_csv.chunks

def slow(*args, **kwargs):
    for chunk in original(*args, **kwargs):
        yield chunk
        if chunk[1]:
            time.sleep(120)  # killed here, after the first batch, before the end marker

responses_csv.chunks = slow
export_jobs.run(make_engine(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
"""


def test_a_killed_job_reads_as_failed_and_offers_no_file(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], tmp_path: Path
) -> None:
    folder = Path(demo.config["EXPORT_FOLDER"])
    demo.config["EXPORT_STALE_SECONDS"] = 2
    with demo.app_context():
        db = get_session()
        unit = db.scalars(select(Unit).where(Unit.code == "QN-DH")).one()
        job = export_jobs.create(db, unit=unit, officer_id=None, period=None)
        db.commit()
        job_id, token = job.id, job.token
        url = get_engine().url.render_as_string(hide_password=False)
    runner = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUNNER, url, str(job_id), str(folder)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    client = signed_in("damha")
    try:
        deadline = time.monotonic() + 60
        while True:
            state = client.get(f"/officer/reports/exports/{token}.json").get_json()
            if state["rows_written"] > 0 or time.monotonic() > deadline:
                break
            assert runner.poll() is None, "the runner ended before it was killed"
            time.sleep(0.1)
        assert state["status"] == "running" and state["rows_written"] == 400, state
        assert 0 < state["percent"] < 100
        page = client.get(f"/officer/reports/exports/{token}").get_data(as_text=True)
        assert "Đang tạo" in page and "<progress" in page
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    part = export_jobs.file_path(folder, token, part=True)
    assert part.is_file()
    with pytest.raises(IncompleteExport, match="not the end marker"):
        check_file(part)  # what was written so far has no end marker
    time.sleep(2.5)  # the heartbeat goes stale
    state = client.get(f"/officer/reports/exports/{token}.json").get_json()
    assert state["status"] == "failed"
    page = client.get(f"/officer/reports/exports/{token}").get_data(as_text=True)
    assert "Lỗi, tệp chưa hoàn chỉnh" in page and "không có tệp hoàn chỉnh" in page
    assert _file(client, token)[0] == 409
    # The clean-up marks it failed for good and removes the stray partial file.
    with demo.app_context():
        export_jobs.clean_up(get_session(), folder, keep_hours=48, stale_seconds=2)
        assert get_session().get(ExportJob, job_id).status == "failed"  # type: ignore[union-attr]
    assert not part.exists()


def test_a_failing_export_says_so(
    demo: Flask,
    signed_in: Callable[[str | None], FlaskClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from survey_app.services import responses_csv

    def broken(*_args: object, **_kwargs: object) -> object:
        yield b"header\n", 0
        raise RuntimeError("the database went away")

    monkeypatch.setattr(responses_csv, "chunks", broken)
    tmp_path = Path(demo.config["EXPORT_FOLDER"])
    client = signed_in("damha")
    token = _start(client, "QN-DH-QTAN")
    state = _wait(client, token)
    assert state["status"] == "failed" and "the database went away" in str(state["error"])
    assert list(tmp_path.iterdir()) == []  # no partial file left behind
    assert _file(client, token)[0] == 409


def test_only_officers_whose_scope_holds_the_unit_get_the_file(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    district = signed_in("damha")
    district_token = _start(district, "QN-DH")
    commune_token = _start(district, "QN-DH-QTAN")
    assert _wait(district, district_token)["status"] == "done"
    assert _wait(district, commune_token)["status"] == "done"
    commune = signed_in("quangtan")
    for path in ("", ".json"):
        assert commune.get(f"/officer/reports/exports/{district_token}{path}").status_code == 403
    assert _file(commune, district_token)[0] == 403
    assert commune.post("/officer/reports/units/QN-DH/exports").status_code == 403
    assert commune.get("/officer/reports/units/QN-DH/exports").status_code == 403
    # The commune officer may have the commune's file, made by someone else.
    status, data, _mimetype = _file(commune, commune_token)
    assert status == 200
    rows = data.decode().lstrip("\ufeff").splitlines()[1:-1]
    assert rows and {line.split(",")[2] for line in rows} == {"QN-DH-QTAN"}
    listing = commune.get("/officer/reports/units/QN-DH-QTAN/exports").get_data(as_text=True)
    assert commune_token in listing and district_token not in listing
    # Unknown or edited tokens, and anonymous visitors, get nothing.
    edited = district_token[:-1] + ("x" if district_token[-1] != "x" else "y")
    assert _file(district, edited)[0] == 404
    assert district.get("/officer/reports/exports/" + "A" * 300).status_code == 404
    anonymous = signed_in(None).get(f"/officer/reports/exports/{district_token}/file")
    assert anonymous.status_code == 302 and "/officer/sign-in" in anonymous.headers["Location"]


def test_old_files_are_removed_and_their_links_say_so(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], export_folder: Path
) -> None:
    tmp_path = export_folder
    demo.config["EXPORT_KEEP_HOURS"] = 24
    client = signed_in("damha")
    old, new = _start(client, "QN-DH-QTAN"), _start(client, "QN-DH-QLAM")
    assert _wait(client, old)["status"] == _wait(client, new)["status"] == "done"
    assert len(list(tmp_path.glob("*.csv"))) == 2
    with demo.app_context():
        db = get_session()
        job = db.scalars(select(ExportJob).where(ExportJob.token == old)).one()
        job.created_at = utcnow() - timedelta(hours=25)
        db.commit()
    # Starting another job cleans up first (and `sipas exports clean` does the same).
    third = _start(client, "QN-DH-QTAN")
    assert _wait(client, third)["status"] == "done"
    assert not export_jobs.file_path(tmp_path, old).exists()
    assert export_jobs.file_path(tmp_path, new).exists()
    assert client.get(f"/officer/reports/exports/{old}.json").get_json()["status"] == "expired"
    assert _file(client, old)[0] == 409
    assert "Đã xóa" in client.get("/officer/reports/units/QN-DH-QTAN/exports").get_data(
        as_text=True
    )
    result = demo.test_cli_runner().invoke(args=["exports", "clean"])
    assert result.exit_code == 0 and "0 file(s) removed" in result.output


def test_the_csv_link_starts_a_job_when_the_scope_is_large(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("damha")
    demo.config["CSV_STREAM_MAX_ROWS"] = 100
    redirected = client.get("/officer/reports/units/QN-DH/responses.csv?period=2026")
    assert redirected.status_code == 303
    assert redirected.headers["Location"].endswith(
        "/officer/reports/units/QN-DH/exports?period=2026"
    )
    demo.config["CSV_STREAM_MAX_ROWS"] = 100_000
    assert client.get("/officer/reports/units/QN-DH/responses.csv").status_code == 200
    dashboard = client.get("/officer/units/QN-DH").get_data(as_text=True)
    assert "/officer/reports/units/QN-DH/exports?period=" in dashboard


def test_sipas_exports_check(tmp_path: Path, runner: object) -> None:
    path = tmp_path / "f.csv"
    path.write_text("\ufeffresponse_id\n1\n#sipas-end rows=1\n", encoding="utf-8")
    ok = runner.invoke(args=["exports", "check", str(path)])  # type: ignore[attr-defined]
    assert ok.exit_code == 0 and "complete, 1 responses" in ok.output
    path.write_text("\ufeffresponse_id\n1\n", encoding="utf-8")
    bad = runner.invoke(args=["exports", "check", str(path)])  # type: ignore[attr-defined]
    assert bad.exit_code == 1 and "incomplete" in bad.output
