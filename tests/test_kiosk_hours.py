"""Opening hours: the officer's notation, validation, and "open now?" (same rule as the tablet)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from survey_app.services.opening_hours import HoursError, describe, is_open, parse_spec, validate

from .conftest import require

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = parse_spec("mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30")
ROOT = Path(__file__).resolve().parent.parent


def test_parse_and_describe() -> None:
    assert OFFICE["mon"] == OFFICE["fri"] == ["07:30-11:30", "13:30-17:00"]
    assert OFFICE["sat"] == ["07:30-11:30"] and "sun" not in OFFICE
    assert describe(OFFICE) == "mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30"
    assert describe(None) == "always open" and describe({}) == "always closed"
    assert parse_spec("sun 13:00-24:00, 07:00-11:00") == {"sun": ["07:00-11:00", "13:00-24:00"]}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mon 11:30-07:30", "ends before it starts"),
        ("mon 07:00-11:00,10:00-12:00", "overlaps"),
        ("fri-mon 07:00-11:00", "a range goes forward"),
        ("mon", "give the hours after the days"),
        ("mon 25:00-26:00", "is not HH:MM-HH:MM"),
        ("mon 20:00-24:30", "ends after 24:00"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_spec(spec)


def test_validate_refuses_unknown_days_and_shapes() -> None:
    with pytest.raises(HoursError, match="unknown weekday"):
        validate({"monday": ["07:00-11:00"]})
    with pytest.raises(HoursError, match="expected a list"):
        validate({"mon": "07:00-11:00"})


# Tuesday 25 November 2026 and Sunday 29 November 2026, local time.
CASES = [
    ("2026-11-25T07:29", False),
    ("2026-11-25T07:30", True),
    ("2026-11-25T11:29", True),
    ("2026-11-25T11:30", False),
    ("2026-11-25T16:59", True),
    ("2026-11-25T17:00", False),
    ("2026-11-28T09:00", True),
    ("2026-11-28T14:00", False),
    ("2026-11-29T09:00", False),
]


@pytest.mark.parametrize(("local", "expected"), CASES)
def test_is_open(local: str, expected: bool) -> None:
    assert is_open(OFFICE, datetime.fromisoformat(local).replace(tzinfo=HANOI)) is expected
    assert is_open(None, datetime.fromisoformat(local).replace(tzinfo=HANOI))


def test_the_tablet_applies_the_same_rule() -> None:
    node = shutil.which("node")
    require(node is not None, "Node.js is not installed, so the client's hours cannot be checked")
    assert node is not None
    moments = [
        int(datetime.fromisoformat(local).replace(tzinfo=HANOI).timestamp() * 1000)
        for local, _ in CASES
    ]
    script = (
        "import { isOpen } from './static/hours.js';"
        f"const hours = {json.dumps(OFFICE)};"
        f"console.log(JSON.stringify({json.dumps(moments)}.map("
        "(ms) => isOpen(hours, ms, 'Asia/Ho_Chi_Minh'))));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=ROOT / "kiosk",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [expected for _, expected in CASES]
