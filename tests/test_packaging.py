"""An installed package (not the source tree) finds its questionnaires, templates and kiosk."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_carries_everything_the_app_reads(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("sipas-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(unpacked)
    for needed in (
        "questionnaires/sipas-service.yaml",
        "questionnaires/sipas-2023.yaml",
        "survey_app/migrations/versions/0001_initial.py",
        "survey_app/migrations/versions/0002_kiosk.py",
        "survey_app/translations/en/LC_MESSAGES/messages.mo",
        "survey_app/citizen/templates/citizen/survey.html",
        "survey_app/static/sipas.css",
        "kiosk/__init__.py",
        "kiosk/static/index.html",
        "kiosk/static/app.js",
        "kiosk/static/sw.js",
        "kiosk/static/manifest.webmanifest",
    ):
        assert needed in names
    # Import from the unpacked wheel only: the data must come from the package, not the checkout.
    script = (
        "import questionnaires, survey_app, kiosk, pathlib;"
        f"assert str(pathlib.Path(questionnaires.__file__)).startswith(r'{unpacked}');"
        "print(sorted(questionnaires.available()));"
        "app = survey_app.create_app(dict(DATABASE_URL='sqlite://', SECRET_KEY='k'));"
        "print(len(app.jinja_env.list_templates()));"
        "print('kiosk', app.test_client().get('/kiosk/sw.js').status_code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "'sipas-2017', 'sipas-2023', 'sipas-kiosk', 'sipas-service'" in result.stdout
    assert "kiosk 200" in result.stdout  # the tablet client is served from the installed package
