"""QR codes that scan to the right address, the `sipas` commands, migrations and demo data."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, inspect, select

from survey_app import create_app, migrate
from survey_app.db import get_engine, get_session
from survey_app.models import Base, Desk, QuestionnaireVersion, Response, Unit, UnitChange
from survey_app.services.qr import qr_png
from survey_app.web import public_base_url

from .conftest import Field


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return str(results[0].text)


def test_png_qr_scans_to_the_desk_survey(client: FlaskClient, field: Field) -> None:
    response = client.get(f"/qr/{field.desk}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert decode(response.data) == "http://sipas.test/s/TEST1"


def test_svg_qr(client: FlaskClient, field: Field) -> None:
    response = client.get(f"/qr/{field.desk.lower()}.svg?download=1")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<?xml") and b"<path" in response.data
    assert 'filename="sipas-TEST1.svg"' in response.headers["Content-Disposition"]


def test_qr_of_an_unknown_desk_is_404(client: FlaskClient, field: Field) -> None:
    assert client.get("/qr/NOPE.png").status_code == 404
    assert client.get(f"/qr/{field.inactive_desk}.svg").status_code == 404
    assert client.get(f"/qr/{field.desk}.gif").status_code == 404


def test_qr_command_writes_png_and_svg(app: Flask, field: Field, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    png, svg = tmp_path / "desk.png", tmp_path / "desk.svg"
    assert runner.invoke(args=["qr", "--desk", field.desk, "-o", str(png)]).exit_code == 0
    assert decode(png.read_bytes()) == "http://sipas.test/s/TEST1"
    assert runner.invoke(args=["qr", "--desk", field.desk, "-o", str(svg)]).exit_code == 0
    assert b"<svg" in svg.read_bytes()
    bad = runner.invoke(args=["qr", "--desk", "NOPE", "-o", str(png)])
    assert bad.exit_code == 2 and "no active desk" in bad.output


def test_invitation_qr_scans_to_the_link(app: Flask, field: Field, tmp_path: Path) -> None:
    path = tmp_path / "receipt.png"
    result = app.test_cli_runner().invoke(
        args=["invite", "--desk", field.desk, "--dossier", "000.12.H40-0001", "--qr", str(path)]
    )
    assert result.exit_code == 0
    assert decode(path.read_bytes()) == result.output.strip()


def test_long_links_still_scan() -> None:
    url = "https://dichvucong.quangninh.gov.vn/s/DAMHA2?t=" + "x" * 180
    assert decode(qr_png(url)) == url


# -- questionnaire versions ----------------------------------------------------------------------


def test_publish_is_idempotent_and_refuses_edited_versions(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["questionnaires", "publish"])
    assert first.exit_code == 0 and first.output.count(": published") == 4
    second = runner.invoke(args=["questionnaires", "publish"])
    assert second.output.count("already published") == 4

    with app.app_context():
        session = get_session()
        row = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire == "sipas-kiosk")
        )
        assert row is not None
        row.content_hash = "0" * 64  # as if the file had been edited after publishing
        session.commit()
    refused = runner.invoke(args=["questionnaires", "publish"])
    assert refused.exit_code == 1
    assert "version 1 of sipas-kiosk was published on" in refused.output
    assert "raise `version` to 2" in refused.output


# -- migrations ------------------------------------------------------------------------------


def test_migrations_match_the_models(app: Flask) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), get_engine().connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        assert migrate.current_revision(get_engine()) is not None


def test_migrations_go_down_and_up(app: Flask) -> None:
    with app.app_context():
        engine = get_engine()
        migrate.downgrade(engine, "base")
        assert "responses" not in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert {"units", "desks", "responses", "score_summary_cells"} <= set(
            inspect(engine).get_table_names()
        )


def test_migrations_accept_urls_with_percent_escapes() -> None:
    # A Unix-socket host or an escaped password puts "%" in the URL; ConfigParser must not
    # read it as interpolation.
    from sqlalchemy import create_engine

    url = "postgresql+psycopg://sipas:p%40ss@/sipas?host=%2Fvar%2Frun%2Fpostgresql"
    config = migrate.alembic_config(create_engine(url))
    assert config.get_main_option("sqlalchemy.url") == url


# -- demo data ---------------------------------------------------------------------------------


def test_demo_with_the_household_survey_adds_keyed_paper_forms(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--responses", "200", "--household-survey"])
    assert result.exit_code == 0, result.output
    assert "household survey plan" in result.output
    with app.app_context():
        session = get_session()
        desk_channels = select(func.count()).where(Response.channel != "paper")
        paper = select(func.count()).where(Response.channel == "paper")
        assert session.scalar(desk_channels) == 200
        assert (session.scalar(paper) or 0) > 0


def test_demo_data_is_quang_ninh_in_2026_with_the_merger_recorded(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--responses", "400"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = get_session()
        units = {u.code: u for u in session.scalars(select(Unit))}
        today = {u.name for u in units.values() if u.valid_to is None}
        assert {
            "Tỉnh Quảng Ninh",
            "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
            "Xã Đầm Hà",
            "Xã Quảng Tân",
            "Đặc khu Vân Đồn",
        } <= today
        assert not [u for u in units.values() if u.valid_to is None and u.kind == "district"]
        # The former district and its units: ended on 1/7/2025, their history kept.
        assert units["QN-DH"].kind == "district" and units["QN-DH"].valid_to == date(2025, 7, 1)
        assert units["QN-DH-TTDH"].valid_to == date(2025, 7, 1)
        assert units["QN-DAMHA"].valid_from == date(2025, 7, 1)
        merged = {
            link.unit.code
            for change in session.scalars(select(UnitChange).where(UnitChange.kind == "merge"))
            if "QN-DAMHA" in {u.code for u in change.units_on("to")}
            for link in change.links
            if link.side == "from"
        }
        assert merged == {"QN-DH-TTDH", "QN-DH-XDH", "QN-DH-TBINH", "QN-DH-DBINH", "QN-DH-TLAP"}
        # Every branch hangs under its commune and is a branch of the provincial centre.
        branch = units["QN-DAMHA-CN"]
        assert branch.parent_id == units["QN-DAMHA"].id
        assert branch.branch_of_id == units["QN-TTPVHCC"].id
        # Responses before the merger are at the old units, after it at the new ones.
        merger = datetime(2025, 6, 30, 17, tzinfo=UTC)  # 1/7/2025 00:00 in Hà Nội
        old_ids = [u.id for u in units.values() if u.valid_to is not None]
        assert (
            session.scalar(
                select(func.count()).where(
                    Response.unit_id.in_(old_ids), Response.submitted_at >= merger
                )
            )
            == 0
        )
        assert (
            session.scalar(
                select(func.count()).where(
                    Response.unit_id.in_(old_ids), Response.submitted_at < merger
                )
            )
            > 50
        )
        assert session.scalar(select(func.count()).select_from(Response)) == 400
        assert (session.scalar(select(func.count()).select_from(Desk)) or 0) >= 10
        newest, oldest = session.execute(
            select(func.max(Response.submitted_at), func.min(Response.submitted_at))
        ).one()
        assert (newest - oldest).days > 500  # 18 months before the merger, and since
        # Units differ: the best and the worst unit are far apart on the share satisfied.
        satisfied: dict[int, list[float]] = {}
        for unit_id, codes in session.execute(select(Response.unit_id, Response.answer_codes)):
            for item in ("TC1", "TT1", "CC1", "KQ1", "PA1"):
                if codes.get(item, 0) > 0:
                    satisfied.setdefault(unit_id, []).append(1.0 if codes[item] >= 4 else 0.0)
        shares = [sum(s) / len(s) for s in satisfied.values()]
        assert max(shares) - min(shares) > 0.1

    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "kept as it is" in again.output
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Response)) == 400


def test_welcome_says_where_to_start(app: Flask, field: Field) -> None:
    result = app.test_cli_runner().invoke(args=["welcome"])
    assert "http://sipas.test/s/TEST1" in result.output
    assert "http://sipas.test/s/OTHER1" in result.output
    assert "http://sipas.test/qr/OTHER1.png" in result.output  # the first desk's QR image
    assert "OLD1" not in result.output  # inactive desks are not offered


# -- the public address and the command's own start-up ---------------------------------------


def test_without_a_configured_address_served_qr_codes_follow_the_request(
    app: Flask, field: Field
) -> None:
    app.config["PUBLIC_BASE_URL_GUESSED"] = True  # what create_app sets when none is configured
    client = app.test_client()
    response = client.get(f"/qr/{field.desk}.png", base_url="http://127.0.0.1:5400")
    assert decode(response.data) == "http://127.0.0.1:5400/s/TEST1"
    # Commands have no request: they use the default and say it is a guess.
    result = app.test_cli_runner().invoke(args=["qr", "--desk", field.desk, "-o", "/dev/null"])
    assert "SIPAS_PUBLIC_BASE_URL is not set" in result.output


@pytest.mark.parametrize("configured", [None, "https://hailong.example.vn/"])
def test_the_public_address_comes_from_sipas_public_base_url(
    database_url: str, monkeypatch: pytest.MonkeyPatch, configured: str | None
) -> None:
    if configured is None:
        monkeypatch.delenv("SIPAS_PUBLIC_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("SIPAS_PUBLIC_BASE_URL", configured)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "k" * 32})
    assert app.config["PUBLIC_BASE_URL_GUESSED"] is (configured is None)
    expected = configured.rstrip("/") if configured else "http://127.0.0.1:5000"
    assert app.config["PUBLIC_BASE_URL"] == expected
    with app.test_request_context(base_url="http://127.0.0.1:5433"):
        assert public_base_url() == (expected if configured else "http://127.0.0.1:5433")


def test_welcome_says_how_to_type_sipas(
    app: Flask, field: Field, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Path(sys.executable).parent / "sipas"
    monkeypatch.chdir(script.parent.parent.parent)  # the project, where `make run` runs
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a shell with the virtualenv not activated
    output = app.test_cli_runner().invoke(args=["welcome"]).output
    typed = str(script.relative_to(Path.cwd()))
    assert f"      {typed} invite --desk " in output and "  sipas invite" not in output
    assert f"source {Path(typed).parent}/activate" in output
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")  # activated
    output = app.test_cli_runner().invoke(args=["welcome"]).output
    assert "      sipas invite --desk " in output and "source" not in output


HEAVY = ("pandas", "scipy")


def test_the_command_line_imports_no_pandas_or_scipy_until_a_command_needs_them() -> None:
    # A fresh interpreter: this one has imported everything already.
    script = (
        "import sys\n"
        "import survey_app.cli\n"
        f"imported = [m for m in {HEAVY} if m in sys.modules]\n"
        "try:\n"
        "    survey_app.cli.main(['--help'], standalone_mode=False)\n"
        "finally:\n"
        f"    print(imported, [m for m in {HEAVY} if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert "score " in result.stdout and "kiosk " in result.stdout  # listed without loading
    assert result.stdout.strip().splitlines()[-1] == "[] []"
