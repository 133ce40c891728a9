"""The kiosk client's queue rules, run by Node's built-in test runner (kiosk/tests/*.test.mjs),
and the client's own texts."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

from .conftest import require

ROOT = Path(__file__).resolve().parent.parent
KIOSK = ROOT / "kiosk"


def test_queue_rules_in_node() -> None:
    node = shutil.which("node")
    require(node is not None, "Node.js is not installed, so the kiosk's queue tests cannot run")
    assert node is not None
    tests = sorted(str(path) for path in (KIOSK / "tests").glob("*.test.mjs"))
    assert tests
    result = subprocess.run(
        [node, "--test", *tests], cwd=KIOSK, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.M)
    failed = re.search(r"^# fail (\d+)$", result.stdout, re.M)
    assert passed and int(passed[1]) >= 15 and failed and failed[1] == "0", result.stdout[-2000:]


def test_client_texts_are_nfc_and_in_both_languages() -> None:
    source = (KIOSK / "static" / "text.js").read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", source) == source
    vi, en = source.split("  en: {")
    keys_vi = set(re.findall(r"^    (\w+):", vi, re.M))
    keys_en = set(re.findall(r"^    (\w+):", en, re.M))
    assert len(keys_vi) > 30 and keys_vi == keys_en
    for name in ("index.html", "manifest.webmanifest", "screens.js", "app.js"):
        text = (KIOSK / "static" / name).read_text(encoding="utf-8")
        assert unicodedata.normalize("NFC", text) == text, name
