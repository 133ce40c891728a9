"""Federation (issue 10, item 5): two provinces' instances (two databases) export their score
summaries, a national instance (a third) imports them and its dashboards show national →
province → district → commune with the numbers analysis/ gives on the raw responses; bad files
are refused with a message naming the problem, and nothing is half-imported."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import func, select

import analysis
from survey_app.db import get_database, get_session
from survey_app.models import Desk, FederationImport, SummaryCell, Unit
from survey_app.services import intake, periods, questionnaire_store, scorecards
from survey_app.services.accounts import UnitTree
from survey_app.services.integrity import Circumstances
from survey_app.services.wide_export import load_responses

from .conftest import make_test_app

ZONE = "Asia/Ho_Chi_Minh"


def _instance(path: Path, template: Path) -> Flask:
    shutil.copy(template, path)
    app = make_test_app(f"sqlite:///{path}")
    result = app.test_cli_runner().invoke(args=["questionnaires", "publish"])
    assert result.exit_code == 0, result.output
    return app


def _second_province(app: Flask, responses: int) -> None:
    """Province HN: one district, two communes with a desk each, responses this month."""
    rng = random.Random(5)
    with app.app_context():
        db = get_session()
        province = Unit(code="HN", name="Thành phố Hà Nội", kind="province")
        district = Unit(code="HN-BD", name="Quận Ba Đình", kind="district", parent=province)
        communes = [
            Unit(code="HN-BD-PX", name="Phường Phúc Xá", kind="commune", parent=district),
            Unit(code="HN-BD-TB", name="Phường Trúc Bạch", kind="commune", parent=district),
        ]
        desks = [Desk(code=f"{u.code}-1", name=f"Một cửa {u.name}", unit=u) for u in communes]
        db.add_all([province, district, *communes, *desks])
        db.flush()
        version = questionnaire_store.current_version(db, "sipas-service")
        q = version.questionnaire
        items = [code for node in q.index.walk() for code in node.items] + ["HL"]
        now = datetime.now(UTC)
        for k in range(responses):
            level = 2 + 3 * (k % 2) * rng.random()  # the second commune does better
            raw: dict[str, object] = {
                code: max(1, min(5, round(level + rng.gauss(0, 0.8)))) for code in items
            }
            intake.store(
                intake.InSession(db, desks[k % 2], submitted_at=now - timedelta(hours=1 + k)),
                intake.Received(
                    uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                    checked=intake.check(version, raw),
                    channel="qr",
                    circumstances=Circumstances(60, 0),
                ),
            )
        db.commit()


def _raw(app: Flask, code: str, period: periods.Period) -> pd.DataFrame:
    with app.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        start, end = period.utc_bounds(ZONE)
        import questionnaires

        q = questionnaires.get("sipas-service")
        return load_responses(
            db, q, unit_ids=tree.subtree_ids(tree.by_code[code].id), start=start, end=end
        )


def _card(app: Flask, code: str, period: periods.Period) -> scorecards.Scorecard:
    with app.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        import questionnaires

        return scorecards.build_scorecard_from_summaries(
            db,
            tree,
            tree.by_code[code],
            period,
            questionnaire=questionnaires.get("sipas-service"),
            min_n=10,
            zone=ZONE,
        )


@pytest.fixture
def instances(app: Flask, tmp_path: Path, sqlite_template: Path) -> Iterator[dict[str, Flask]]:
    """Two provinces on SQLite files, the national instance on the test database (SQLite,
    and PostgreSQL when it is set)."""
    quang_ninh = _instance(tmp_path / "qn.sqlite3", sqlite_template)
    result = quang_ninh.test_cli_runner().invoke(
        args=["demo", "load", "--responses", "240", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    ha_noi = _instance(tmp_path / "hn.sqlite3", sqlite_template)
    _second_province(ha_noi, 120)
    national = app
    # A national instance holds summaries only: its pages read them (README "Federation").
    national.config["SCORES_FROM_SUMMARIES"] = "1"
    published = national.test_cli_runner().invoke(args=["questionnaires", "publish"])
    assert published.exit_code == 0, published.output
    with national.app_context():
        db = get_session()
        country = Unit(code="VN", name="Toàn quốc", kind="national")
        db.add_all(
            [
                country,
                Unit(code="QN", name="Tỉnh Quảng Ninh", kind="province", parent=country),
                Unit(code="HN", name="Thành phố Hà Nội", kind="province", parent=country),
            ]
        )
        db.commit()
    yield {"QN": quang_ninh, "HN": ha_noi, "VN": national}
    for province in (quang_ninh, ha_noi):
        with province.app_context():
            get_database().dispose()


def _export(app: Flask, path: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["federation", "export", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_a_national_instance_scores_the_provinces_it_imports(
    instances: dict[str, Flask], tmp_path: Path
) -> None:
    qn = _export(instances["QN"], tmp_path / "QN.json.gz")
    hn = _export(instances["HN"], tmp_path / "HN.json.gz")
    document = json.loads(gzip.decompress(qn.read_bytes()))
    # Summaries only: no response id, answer or comment anywhere in the file.
    text = json.dumps(document)
    assert "response_id" not in text and "comment" not in text and "uuid" not in text
    assert {c["month"][-2:] for b in document["questionnaires"] for c in b["cells"]} == {"01"}
    national = instances["VN"]
    result = national.test_cli_runner().invoke(args=["federation", "import", str(qn), str(hn)])
    assert result.exit_code == 0, result.output
    assert "QN:" in result.output and "HN:" in result.output
    with national.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        assert tree.units[tree.by_code["QN-DH-QTAN"].parent_id].code == "QN-DH"  # type: ignore[index]
        assert {u.code for u in tree.children[tree.by_code["VN"].id]} == {"QN", "HN"}
        assert db.scalar(select(func.count()).select_from(FederationImport)) == 2

    period = periods.current_year(ZONE)
    # The national dashboard's numbers are analysis.score on both provinces' raw responses.
    rows = pd.concat([_raw(instances["QN"], "QN", period), _raw(instances["HN"], "HN", period)])
    expected = analysis.score(rows, "sipas-service", settings=analysis.ScoringSettings(min_n=10))
    expected_table = expected.to_frame().set_index("code")
    card = _card(national, "VN", period)
    mine = card.table[card.table["unit_code"] == "VN"].set_index("code")
    for code in ("SIPAS", "TC", "TT", "CC", "KQ", "PA", "HL"):
        assert mine.loc[code, "n"] == expected_table.loc[code, "n"], code
        assert mine.loc[code, "index"] == pytest.approx(expected_table.loc[code, "index"], abs=1e-9)
        assert mine.loc[code, "ci_low"] == pytest.approx(
            expected_table.loc[code, "ci_low"], abs=1e-9
        )
    # Provinces are ranked against each other, by their SIPAS.
    sipas = card.table[card.table["code"] == "SIPAS"].set_index("unit_code")
    better, worse = sorted(("QN", "HN"), key=lambda c: -sipas.loc[c, "index"])
    assert sipas.loc[better, "rank"] == 1 and sipas.loc[worse, "rank"] == 2
    # A province and a district read on the national instance equal the province's own.
    for code in ("QN-DH", "HN"):
        own = _card(instances[code[:2]], code, period).table
        there = _card(national, code, period).table
        columns = ["unit_code", "code", "n", "index", "ci_low", "ci_high", "rank"]
        # Only the national instance ranks a province (among the provinces it holds).
        for table in (own, there):
            table.loc[table["unit_code"] == code, "rank"] = None
        pd.testing.assert_frame_equal(
            there[columns].reset_index(drop=True), own[columns].reset_index(drop=True)
        )

    # The same pages officers use: the national administrator's dashboard and a commune's.
    with national.app_context():
        db = get_session()
        from survey_app.services import accounts

        accounts.create_officer(
            db,
            username="quocgia",
            password="mật-khẩu-quốc-gia-2026",
            full_name="Quốc gia",
            role="admin",
            unit=None,
        )
        db.commit()
    national.config["WTF_CSRF_ENABLED"] = False  # the form is posted directly
    client = national.test_client()
    signed = client.post(
        "/officer/sign-in", data={"username": "quocgia", "password": "mật-khẩu-quốc-gia-2026"}
    )
    assert signed.status_code == 302
    page = client.get(f"/officer/units/VN?period={period.label}").get_data(as_text=True)
    assert "Tỉnh Quảng Ninh" in page and "Thành phố Hà Nội" in page
    assert client.get(f"/officer/units/QN-DH-QTAN?period={period.label}").status_code == 200

    # Importing a province again replaces its cells (no double counting).
    again = national.test_cli_runner().invoke(args=["federation", "import", str(qn)])
    assert again.exit_code == 0, again.output
    card_again = _card(national, "VN", period)
    assert card_again.table.equals(card.table)


def _rewrite(path: Path, target: Path, change: object) -> Path:
    document = json.loads(gzip.decompress(path.read_bytes()))
    change(document)  # type: ignore[operator]
    target.write_bytes(gzip.compress(json.dumps(document).encode()))
    return target


def _cells(app: Flask) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(SummaryCell)) or 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format_version=0), "older format (version 0)"),
        (lambda d: d.update(format="other"), "not a sipas federation file"),
        (lambda d: d["province"].update(code="ZZ"), "unknown province ZZ"),
        (
            lambda d: d["questionnaires"][0]["versions"][0].update(content_hash="0" * 64),
            "version 1 differs from the one published here",
        ),
        (
            lambda d: d["questionnaires"][0]["versions"].append(
                {"version": 9, "content_hash": "1" * 64}
            ),
            "version 9 is not published here",
        ),
        (
            lambda d: d["questionnaires"][0]["basis"].update(validity_threshold=99),
            "built under another basis (validity_threshold",
        ),
        (lambda d: d.update(zone="Europe/Paris"), "time zone Europe/Paris"),
    ],
)
def test_a_bad_file_is_refused_by_name_and_nothing_is_imported(
    instances: dict[str, Flask], tmp_path: Path, change: object, message: str
) -> None:
    qn = _export(instances["QN"], tmp_path / "QN.json.gz")
    hn = _export(instances["HN"], tmp_path / "HN.json.gz")
    bad = _rewrite(qn, tmp_path / "bad.json.gz", change)
    national = instances["VN"]
    # The good file first: it is rolled back with the bad one.
    result = national.test_cli_runner().invoke(args=["federation", "import", str(hn), str(bad)])
    assert result.exit_code == 1
    assert "nothing imported: bad.json.gz: " in result.output and message in result.output
    assert _cells(national) == 0
    with national.app_context():
        db = get_session()
        assert db.scalar(select(func.count()).select_from(FederationImport)) == 0
        assert db.scalar(select(func.count()).where(Unit.code.like("HN-%"))) == 0
        assert db.scalar(select(func.count()).select_from(Desk)) == 0


def test_a_damaged_file_and_a_clash_between_provinces_are_refused(
    instances: dict[str, Flask], tmp_path: Path
) -> None:
    qn = _export(instances["QN"], tmp_path / "QN.json.gz")
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(qn.read_bytes()[:200])
    national = instances["VN"]
    result = national.test_cli_runner().invoke(args=["federation", "import", str(cut)])
    assert result.exit_code == 1 and "cut.json.gz: not a sipas federation file" in result.output
    # HN's file claiming a QN commune: refused, and QN's good file with it is not kept.
    hn = _export(instances["HN"], tmp_path / "HN.json.gz")

    def steal(d: dict) -> None:  # type: ignore[type-arg]
        d["units"][2]["code"] = "QN-DH-QTAN"
        d["desks"] = [x for x in d["desks"] if x["unit"] != "HN-BD-PX"]
        for block in d["questionnaires"]:
            block["cells"] = [c for c in block["cells"] if c["unit"] != "HN-BD-PX"]

    thief = _rewrite(hn, tmp_path / "thief.json.gz", steal)
    result = national.test_cli_runner().invoke(args=["federation", "import", str(qn), str(thief)])
    assert result.exit_code == 1
    assert "thief.json.gz: unit QN-DH-QTAN belongs to another province here" in result.output
    assert _cells(national) == 0
