"""Accessibility measured by axe-core (from the npm registry) in Chromium: every page a citizen,
a kiosk user or an officer meets has no serious or critical WCAG violation."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Field, enrolment_code, full_answers, require
from .conftest import LiveServer
from .test_kiosk_in_chromium import KIOSK_SCREENS, screen, wait_in_page
from .test_officer_workspace import _load_demo, _sign_in
from .test_survey_in_chromium import REQUIRED, answer, open_optional_step

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
  }));
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe.min.js as pinned in tests/browser/package-lock.json (installed with `npm ci` if the
    node_modules folder is missing)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        require(npm is not None, "npm is missing, so axe-core cannot be installed")
        assert npm is not None
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300)
    return AXE.read_text(encoding="utf-8")


def violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(axe_source)
    found = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in BLOCKING]


@pytest.fixture
def audited(browser: Any) -> Iterator[Any]:
    """A page factory: contexts that let axe be injected despite the pages' CSP (script-src
    'self')."""
    contexts: list[Any] = []

    def new_page(**options: Any) -> Any:
        context = browser.new_context(bypass_csp=True, locale="vi-VN", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield new_page
    for context in contexts:
        context.close()


def test_axe_finds_what_it_should(audited: Any, axe_source: str) -> None:
    # The harness itself: a page with an unlabelled button and image fails it.
    page = audited()
    page.set_content('<html lang="vi"><title>x</title><main><img src="a.png"><button></button>')
    assert {v["id"] for v in violations(page, axe_source)} == {"button-name", "image-alt"}


PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def test_citizen_survey_its_error_and_thank_you_pages(
    live_server: LiveServer, field: Field, audited: Any, axe_source: str
) -> None:
    page = audited(**PHONE)
    page.goto(f"{live_server.url}/s/{field.desk}")
    assert violations(page, axe_source) == []
    open_optional_step(page)
    assert violations(page, axe_source) == []
    page.get_by_role("button", name="Gửi đánh giá").tap()  # nothing answered: the error page
    page.get_by_role("alert").wait_for()
    assert violations(page, axe_source) == []
    for code in REQUIRED:
        answer(page, code, full_answers()[code])
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url("**/cam-on")
    assert violations(page, axe_source) == []
    page.goto(f"{live_server.url}/s/NOPE")  # a desk that does not exist
    assert violations(page, axe_source) == []


def test_kiosk_start_question_and_thank_you_screens(
    live_server: LiveServer, field: Field, audited: Any, axe_source: str
) -> None:
    live_server.app.config.update(KIOSK_THANKS_SECONDS=30, KIOSK_MIN_SECONDS=0)
    page = audited(viewport={"width": 1280, "height": 800}, has_touch=True)
    page.goto(f"{live_server.url}/kiosk/")
    screen(page, "enrol")
    assert violations(page, axe_source) == []
    page.goto(f"{live_server.url}/kiosk/#enrol={enrolment_code(live_server.app, field.desk)}")
    screen(page, "start")
    wait_in_page(page, "navigator.serviceWorker.controller !== null")
    assert violations(page, axe_source) == []
    page.locator("[data-action=start]").tap()
    screen(page, "question")
    assert violations(page, axe_source) == []
    for code in KIOSK_SCREENS[:-1]:
        page.locator(f'section[data-screen-code="{code}"] .opt[data-code="4"]').tap()
    page.wait_for_selector('section[data-screen-code="YK"]')
    assert violations(page, axe_source) == []  # the comment screen
    page.locator("[data-action=send]").tap()
    screen(page, "thanks")
    assert violations(page, axe_source) == []


def test_officer_sign_in_and_dashboard(
    live_server: LiveServer, audited: Any, axe_source: str
) -> None:
    _load_demo(live_server)
    page = audited(viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/officer/sign-in")
    assert violations(page, axe_source) == []
    _sign_in(page, live_server.url, "damha")
    page.wait_for_url("**/officer/units/QN-DAMHA")
    assert violations(page, axe_source) == []
