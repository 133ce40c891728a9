"""The ``sipas score`` command on good and bad files: output content and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from analysis_frames import KIOSK, SERVICE, wide
from click.testing import CliRunner

from analysis.cli import score

ELEMENT_ITEMS = ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def kiosk_csv(tmp_path: Path) -> Path:
    """Two units over two months; unit A's January has 3 satisfied of 4 on every element."""
    frame = wide(
        KIOSK,
        {**{c: [5, 4, 4, 1, 5, 5, 2, 2] for c in ELEMENT_ITEMS}, "HL": [5, 5, 4, 2, 5, 4, 1, 1]},
        response_id=list(range(1, 9)),
        submitted_at=["2025-01-05T02:00:00Z"] * 4
        + ["2025-02-05T02:00:00Z"] * 2
        + ["2025-01-05T02:00:00Z"] * 2,
        unit_code=["A"] * 6 + ["B"] * 2,
        questionnaire=["sipas-kiosk"] * 8,
        questionnaire_version=[1] * 8,
        valid=[1] * 8,
        flags=[""] * 8,
    )
    frame["comment"] = ["Tốt", "", "Chờ lâu, cần thêm ghế", "", "", "", "", ""]
    path = tmp_path / "responses.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")  # with a BOM, as Excel saves
    return path


def read_csv_output(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"unit_code": str, "period": str})


def test_scores_a_csv_by_unit_and_month(runner: CliRunner, kiosk_csv: Path) -> None:
    result = runner.invoke(score, [str(kiosk_csv), "--by", "unit,period", "--min-n", "2"])
    assert result.exit_code == 0, result.output
    table = read_csv_output(result.stdout)
    assert list(table.columns) == [
        "unit_code",
        "period",
        "level",
        "code",
        "label_vi",
        "n",
        "index",
        "ci_low",
        "ci_high",
        "min_n_flag",
        "rank",
        "rank_change",
        "p_change",
    ]
    sipas = table[table["code"] == "SIPAS"].set_index(["unit_code", "period"])
    # A, January: 3 of 4 satisfied on each element → 75.00. A, February: 2 of 2 → 100.
    # B, January: 0 of 2 → 0.
    assert sipas.loc[("A", "2025-01"), "index"] == 75.0
    assert sipas.loc[("A", "2025-02"), "index"] == 100.0
    assert sipas.loc[("B", "2025-01"), "index"] == 0.0
    assert sipas.loc[("A", "2025-01"), "rank"] == 1 and sipas.loc[("B", "2025-01"), "rank"] == 2
    assert pd.isna(sipas.loc[("A", "2025-01"), "p_change"])  # nothing before January
    # February's SIPAS has SE 0 (every answer 5): not testable, so no p-value; its item
    # HL_TC (2 of 2 vs 3 of 4) gets the two-proportion test.
    assert pd.isna(sipas.loc[("A", "2025-02"), "p_change"])
    hl_tc = table[(table["code"] == "HL_TC") & (table["unit_code"] == "A")]
    assert hl_tc["p_change"].notna().tolist() == [False, True]
    label = table.loc[table["code"] == "TC", "label_vi"].iloc[0]
    assert label == "Tiếp cận dịch vụ"  # Vietnamese survives the round trip


def test_output_files_in_each_format(runner: CliRunner, kiosk_csv: Path, tmp_path: Path) -> None:
    out_csv, out_json, out_xlsx = (tmp_path / f"scores.{x}" for x in ("csv", "json", "xlsx"))
    for out in (out_csv, out_json, out_xlsx):
        result = runner.invoke(score, [str(kiosk_csv), "--by", "unit", "-o", str(out)])
        assert result.exit_code == 0, result.output
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    records = json.loads(out_json.read_text(encoding="utf-8"))
    a = next(r for r in records if r["unit_code"] == "A" and r["code"] == "SIPAS")
    assert a["index"] == pytest.approx(83.33)  # 5 of 6 satisfied, rounded to 2 decimals
    assert a["n"] == 6
    book = openpyxl.load_workbook(out_xlsx, read_only=True)
    assert book.sheetnames == ["scores", "responses"]
    header = next(book["scores"].iter_rows(values_only=True))
    assert header[:3] == ("unit_code", "level", "code")


def test_reads_xlsx_and_csv_without_bom(runner: CliRunner, kiosk_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(kiosk_csv, encoding="utf-8-sig", dtype=str)
    xlsx, plain = tmp_path / "paper.xlsx", tmp_path / "plain.csv"
    frame.to_excel(xlsx, index=False)
    frame.to_csv(plain, index=False, encoding="utf-8")
    outputs = []
    for path in (kiosk_csv, xlsx, plain):
        result = runner.invoke(score, [str(path), "--by", "unit"])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


def test_paper_forms_need_only_the_item_columns(runner: CliRunner, tmp_path: Path) -> None:
    # Keyed-in paper forms of sipas-service: no desk, channel, time or validity columns.
    frame = wide(SERVICE, {"TC1": [5, 3, 4]}, fill=4)
    frame = frame[
        [c for c in frame.columns if c not in ("RTYPE", "GENDER", "AGE", "EDU", "JOB", "ETHNIC")]
    ]
    path = tmp_path / "paper.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(score, [str(path), "--questionnaire", "sipas-service"])
    assert result.exit_code == 0, result.output
    table = read_csv_output(result.stdout)
    assert table.loc[table["code"] == "TC1", "index"].iloc[0] == pytest.approx(66.67)


def test_weights_and_targets(runner: CliRunner, kiosk_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(kiosk_csv, encoding="utf-8-sig", dtype=str)
    frame["weight"] = ["1", "1", "1", "3", "1", "1", "1", "1"]  # A's dissatisfied one × 3
    weighted = tmp_path / "weighted.csv"
    frame.to_csv(weighted, index=False)
    targets = tmp_path / "targets.csv"
    targets.write_text(
        "unit_code,index,period,target\n*,SIPAS,,80\nB,SIPAS,,10\n", encoding="utf-8"
    )
    result = runner.invoke(
        score, [str(weighted), "--by", "unit", "--weights", "weight", "--targets", str(targets)]
    )
    assert result.exit_code == 0, result.output
    table = read_csv_output(result.stdout)
    sipas = table[table["code"] == "SIPAS"].set_index("unit_code")
    # A: weights 1,1,1,3,1,1 → satisfied weight 5 of 8 = 62.5; target 80 → gap −17.5.
    assert sipas.loc["A", "index"] == 62.5
    assert sipas.loc["A", "gap"] == -17.5
    assert sipas.loc["B", "target"] == 10.0
    assert pd.isna(table.loc[table["code"] == "TC", "target"]).all()


def test_python_dash_m_analysis(kiosk_csv: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "score", str(kiosk_csv), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["code"] == "SIPAS"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (
            lambda d, good: good,
            ["--questionnaire", "sipas-9999"],
            "sipas-9999: no such questionnaire",
        ),
        (lambda d, good: d / "missing.csv", [], "missing.csv: no such file"),
        (lambda d, good: write(d / "empty.csv", ""), [], "empty.csv: the file is empty"),
        (
            lambda d, good: write(d / "header.csv", "unit_code,HL_TC\n"),
            [],
            "header.csv: the file has a header but no responses",
        ),
        (lambda d, good: write(d / "notes.txt", "hello"), [], "notes.txt: not a CSV or XLSX file"),
        (
            lambda d, good: write(d / "fake.xlsx", "not a workbook"),
            [],
            "fake.xlsx: not an XLSX workbook",
        ),
        (
            lambda d, good: write(d / "latin.csv", "unit_code,HL_TC\nCafé,5\n", "latin-1"),
            [],
            "latin.csv: not UTF-8 text",
        ),
        (
            lambda d, good: good,
            ["--by", "desk"],
            "column desk_code: the breakdown column is missing",
        ),
        (
            lambda d, good: good,
            ["--weights", "weight"],
            "column weight: the weights column is missing",
        ),
        (lambda d, good: good, ["--format", "xlsx"], "give the file with -o"),
    ],
)
def test_bad_input_gets_one_line_and_status_2(
    runner: CliRunner, kiosk_csv: Path, tmp_path: Path, make, args: list[str], message: str
) -> None:
    path = make(tmp_path, kiosk_csv)
    result = runner.invoke(score, [str(path), *args])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("column", "row", "value", "message"),
    [
        ("HL_TT", 4, "7", "row 4, column HL_TT: code 7 is out of range"),
        ("HL", 9, "0", "row 9, column HL: code 0 is out of range"),  # HL has no "cannot judge"
        ("HL_PA", 2, "rất tốt", "row 2, column HL_PA: 'rất tốt' is not an answer code"),
        ("questionnaire", 3, "sipas-service", "file mixes questionnaires"),
        ("submitted_at", 5, "hôm qua", "row 5, column submitted_at: 'hôm qua' is not an ISO"),
        ("valid", 6, "maybe", "row 6, column valid: 'maybe' is not 1/0"),
    ],
)
def test_bad_cells_are_named_by_file_row_and_column(
    runner: CliRunner, kiosk_csv: Path, column: str, row: int, value: str, message: str
) -> None:
    frame = pd.read_csv(kiosk_csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value  # spreadsheet row 2 is the first response
    frame.to_csv(kiosk_csv, index=False, encoding="utf-8-sig")
    result = runner.invoke(score, [str(kiosk_csv), "--by", "unit,period"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert f"{kiosk_csv}" in result.stderr
    assert message in result.stderr


def test_missing_item_columns_are_listed(runner: CliRunner, kiosk_csv: Path) -> None:
    frame = pd.read_csv(kiosk_csv, encoding="utf-8-sig", dtype=str)
    frame.drop(columns=["HL_KQ", "HL"]).to_csv(kiosk_csv, index=False)
    result = runner.invoke(score, [str(kiosk_csv)])
    assert result.exit_code == 2
    assert "2 item column(s) of sipas-kiosk v1 missing: HL_KQ, HL" in result.stderr
    assert "--questionnaire" in result.stderr


def test_ragged_csv(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.csv", "unit_code,HL_TC\nA,5\nB,4,extra,cells\n")
    result = runner.invoke(score, [str(path)])
    assert result.exit_code == 2
    assert "ragged.csv" in result.stderr and "row 3" in result.stderr


def test_progress_bar_goes_to_stderr_in_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.cli import Stages

    stages = Stages(enabled=True)
    with stages.run():
        for step in Stages.STEPS:
            stages.step(step)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "sipas score" in captured.err


def test_units_roll_up_and_rank_within_a_level(runner: CliRunner, tmp_path: Path) -> None:
    frame = wide(KIOSK, {"HL_TC": [5, 5, 1, 5]}, fill=4, unit_code=["C1", "C1", "C2", "D2"])
    responses, tree = tmp_path / "r.csv", tmp_path / "units.csv"
    frame.to_csv(responses, index=False)
    tree.write_text("unit_code,parent_code\nP,\nD1,P\nD2,P\nC1,D1\nC2,D1\n", encoding="utf-8")
    result = runner.invoke(
        score,
        [
            str(responses),
            "--questionnaire",
            "sipas-kiosk",
            "--by",
            "unit",
            "--units",
            str(tree),
            "--min-n",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    table = read_csv_output(result.stdout)
    tc = table[table["code"] == "HL_TC"].set_index("unit_code")
    # D1 pools C1 and C2: 2 of 3. P pools everything: 3 of 4.
    assert tc.loc["D1", "index"] == pytest.approx(66.67)
    assert tc.loc["P", "index"] == 75.0
    # Ranked among units at the same depth: P alone; D2 (100) above D1; C1 above C2.
    assert tc["rank"].to_dict() == {"C1": 1, "C2": 2, "D1": 2, "D2": 1, "P": 1}
