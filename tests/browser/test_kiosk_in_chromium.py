"""The kiosk on a tablet, in a real Chromium: enrol, answer, reset, go offline, come back, get
revoked and re-enrolled, pick up a new questionnaire and a new client between two people."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from survey_app.db import get_session
from survey_app.kiosk_api import shell
from survey_app.models import KioskDevice, Response

from ..conftest import Field, enrolment_code
from .conftest import LiveServer
from .test_survey_in_chromium import CONTRAST_FAILURES

pytestmark = pytest.mark.browser

KIOSK_SCREENS = ("TC", "TT", "CC", "KQ", "PA", "HL", "YK")

OUTBOX = """async () => {
  const { KioskStore } = await import('/kiosk/store.js');
  const store = await KioskStore.open();
  const tx = store.db.transaction('outbox');
  const records = await new Promise((resolve) => {
    const request = tx.objectStore('outbox').getAll();
    request.onsuccess = () => resolve(request.result);
  });
  store.db.close();
  return records.map((r) => ({ id: r.id, state: r.state }));
}"""


def wait_until(condition: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    """Poll a condition outside the browser (the database), bounded in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


def wait_in_page(page: Any, expression: str, timeout: float = 10) -> None:
    """Poll a script in the page until it is true, bounded in time. (Playwright's
    wait_for_function compiles its predicate with eval, which the kiosk's CSP rightly forbids.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError as error:  # the page reloaded under the script: ask again
            if "context was destroyed" not in str(error):
                raise
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {expression}")


def rows(live: LiveServer) -> list[Response]:
    with live.app.app_context():
        found = list(get_session().scalars(select(Response).order_by(Response.id)))
        for row in found:
            _ = row.answers, row.comment, row.questionnaire_version
        return found


def count(live: LiveServer) -> int:
    with live.app.app_context():
        return get_session().scalar(select(func.count()).select_from(Response)) or 0


@pytest.fixture
def kiosk_server(live_server: LiveServer) -> LiveServer:
    """The live app with settings that keep a test short: a brief thank-you, no minimum time."""
    live_server.app.config.update(KIOSK_THANKS_SECONDS=0.3, KIOSK_MIN_SECONDS=0)
    return live_server


@pytest.fixture
def tablet(browser: Any) -> Iterator[Any]:
    """A fresh 10-inch tablet in landscape; any script error fails the test."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, has_touch=True, locale="vi-VN"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def screen(page: Any, name: str, timeout: float = 10_000) -> None:
    page.wait_for_selector(f"html[data-screen={name}]", timeout=timeout)


def enrol(page: Any, live: LiveServer, desk: str, expect: str = "start") -> None:
    code = enrolment_code(live.app, desk)
    page.goto(f"{live.url}/kiosk/#enrol={code}")
    screen(page, expect)
    # Installed for offline use: the service worker controls the page.
    wait_in_page(page, "navigator.serviceWorker.controller !== null")


def answer_all(page: Any, level: int = 4, comment: str | None = None, send: bool = True) -> None:
    """Tap through the kiosk form as a person would: start, one face per screen, send."""
    page.locator("[data-action=start]").tap()
    for code in KIOSK_SCREENS[:-1]:
        page.locator(f'section[data-screen-code="{code}"] .opt[data-code="{level}"]').tap()
    page.wait_for_selector('section[data-screen-code="YK"]')
    if comment:
        page.fill("textarea", comment)
    if send:
        page.locator("[data-action=send]").tap()
        screen(page, "thanks")


def status(page: Any) -> str:
    return str(page.locator("#status").inner_text()).replace("\n", " ")


def test_enrol_then_open_straight_into_the_desk(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    enrol(tablet, kiosk_server, field.desk)
    assert "#enrol" not in tablet.url  # the used code does not linger in the address bar
    assert tablet.locator(".top .desk").inner_text() == "Bộ phận Một cửa xã Thử Nghiệm"
    assert tablet.locator("h1").inner_text() == "Đánh giá sự phục vụ"
    tablet.goto(f"{kiosk_server.url}/kiosk/")
    screen(tablet, "start")
    assert tablet.locator(".top .desk").inner_text() == "Bộ phận Một cửa xã Thử Nghiệm"
    with kiosk_server.app.app_context():
        device = get_session().scalar(select(KioskDevice))
        assert device is not None and device.state == "enrolled"
    wait_until(lambda: "Trực tuyến" in status(tablet), what="the status line")


def test_enrolling_by_typed_code_clears_not_enrolled_at_once(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    tablet.goto(f"{kiosk_server.url}/kiosk/")
    screen(tablet, "enrol")
    wait_until(lambda: "Chưa đăng ký" in status(tablet), what="the not-enrolled status")
    tablet.fill("#enrol-code", enrolment_code(kiosk_server.app, field.desk))
    tablet.locator("form.enrol button[type=submit]").tap()
    screen(tablet, "start")
    # Before any survey or upload: the status line knows the kiosk is enrolled within seconds.
    wait_until(lambda: "Chưa đăng ký" not in status(tablet), timeout=5, what="not-enrolled to go")
    assert "Trực tuyến" in status(tablet) and tablet.locator("#status .bad").count() == 0


def test_a_used_code_says_so(
    kiosk_server: LiveServer, field: Field, tablet: Any, browser: Any
) -> None:
    code = enrolment_code(kiosk_server.app, field.desk)
    tablet.goto(f"{kiosk_server.url}/kiosk/#enrol={code}")
    screen(tablet, "start")
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    page = other.new_page()
    page.goto(f"{kiosk_server.url}/kiosk/#enrol={code}")
    page.wait_for_selector("[role=alert]")
    assert page.locator("h1").inner_text() == "Kiosk này chưa được đăng ký"
    assert "Mã đăng ký này đã được dùng" in page.locator("[role=alert]").inner_text()
    other.close()


def test_complete_a_survey_and_see_the_reset(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    enrol(tablet, kiosk_server, field.desk)
    answer_all(tablet, level=5, comment="Cán bộ rất nhiệt tình.")
    assert tablet.locator("h1").inner_text() == "Cảm ơn Ông/Bà đã đánh giá!"
    screen(tablet, "start")  # by itself, after the thank-you
    wait_until(lambda: count(kiosk_server) == 1, what="the response on the server")
    [row] = rows(kiosk_server)
    assert row.channel == "kiosk" and row.language == "vi"
    assert {a.item: a.code for a in row.answers} == dict.fromkeys(
        ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA", "HL"), 5
    )
    assert row.comment is not None and row.comment.text == "Cán bộ rất nhiệt tình."
    assert row.answered_at is not None and row.answered_at <= row.submitted_at
    wait_until(lambda: "Chờ gửi: 0" in status(tablet) and "Gửi lần cuối" in status(tablet))

    # The next person sees nothing of the last one.
    tablet.locator("[data-action=start]").tap()
    assert tablet.locator("[aria-checked=true]").count() == 0
    for code in KIOSK_SCREENS[:-1]:
        tablet.locator(f'section[data-screen-code="{code}"] .opt[data-code="3"]').tap()
    tablet.wait_for_selector('section[data-screen-code="YK"]')
    assert tablet.locator("textarea").input_value() == ""


def test_walking_away_discards_the_half_answered_survey(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    kiosk_server.app.config["KIOSK_IDLE_SECONDS"] = 2
    enrol(tablet, kiosk_server, field.desk)
    tablet.locator("[data-action=start]").tap()
    tablet.locator("[data-action=language]").tap()  # this person reads English
    tablet.locator('section[data-screen-code="TC"] .opt[data-code="1"]').tap()
    last_touch = time.monotonic()  # just before the last tap
    tablet.locator('section[data-screen-code="TT"] .opt[data-code="2"]').tap()
    tablet.wait_for_selector('section[data-screen-code="CC"]')
    screen(tablet, "start", timeout=15_000)
    assert time.monotonic() - last_touch >= 1.9  # not before the idle time
    start_button = tablet.locator("[data-action=start]").inner_text()
    assert start_button == "Bắt đầu đánh giá"  # in Vietnamese again, for the next person
    assert tablet.evaluate(OUTBOX) == []  # nothing kept on the tablet
    tablet.locator("[data-action=start]").tap()
    tablet.wait_for_selector('section[data-screen-code="TC"]')
    assert tablet.locator("[aria-checked=true]").count() == 0
    assert count(kiosk_server) == 0


def test_twenty_surveys_offline_survive_a_reload_and_arrive_once(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    enrol(tablet, kiosk_server, field.desk)
    tablet.context.set_offline(True)
    for n in range(20):
        answer_all(tablet, level=1 + n % 5, comment=f"Phiếu số {n + 1}" if n % 4 == 0 else None)
        screen(tablet, "start")
    assert "Mất kết nối" in status(tablet) and "Chờ gửi: 20" in status(tablet)
    queued = tablet.evaluate(OUTBOX)
    assert len(queued) == 20 and {r["state"] for r in queued} == {"pending"}

    tablet.reload()  # still offline: the service worker serves the shell, IndexedDB the queue
    screen(tablet, "start")
    wait_until(lambda: "Chờ gửi: 20" in status(tablet), what="20 waiting after the reload")
    assert count(kiosk_server) == 0

    tablet.context.set_offline(False)
    wait_until(lambda: count(kiosk_server) == 20, timeout=30, what="20 rows on the server")
    wait_until(lambda: "Chờ gửi: 0" in status(tablet), what="an empty queue")
    stored = rows(kiosk_server)
    assert len(stored) == 20
    assert {str(r.uuid) for r in stored} == {r["id"] for r in queued}
    assert tablet.evaluate(OUTBOX) == []
    assert sum(1 for r in stored if r.comment is not None) == 5
    assert sorted({a.code for r in stored for a in r.answers}) == [1, 2, 3, 4, 5]


def test_revoked_kiosk_keeps_its_responses_until_enrolled_again(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    enrol(tablet, kiosk_server, field.desk)
    tablet.context.set_offline(True)
    for _ in range(2):
        answer_all(tablet)
        screen(tablet, "start")
    runner = kiosk_server.app.test_cli_runner()
    assert runner.invoke(args=["kiosk", "revoke", "1"]).exit_code == 0
    tablet.context.set_offline(False)
    screen(tablet, "enrol")
    assert tablet.locator("h1").inner_text() == "Kiosk này chưa được đăng ký"
    assert "Máy đang giữ 2 phiếu chưa gửi" in tablet.locator(".kept").inner_text()
    wait_until(lambda: "Chưa đăng ký" in status(tablet) and "Bị từ chối: 1" in status(tablet))
    assert {r["state"] for r in tablet.evaluate(OUTBOX)} == {"pending", "rejected"}
    assert count(kiosk_server) == 0

    result = runner.invoke(args=["kiosk", "enrol", "--device", "1"])
    code = re.search(r"#enrol=(\w+)", result.output)
    assert code is not None
    tablet.fill("#enrol-code", code[1])
    tablet.locator("form.enrol button[type=submit]").tap()
    screen(tablet, "start")
    wait_until(lambda: count(kiosk_server) == 2, what="both kept responses on the server")
    wait_until(lambda: "Chờ gửi: 0" in status(tablet) and "Bị từ chối" not in status(tablet))


def test_outside_opening_hours_the_kiosk_is_closed(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    runner = kiosk_server.app.test_cli_runner()
    # Open one minute a day, at a time that is not now.
    closed_hours = "mon-sun 03:00-03:01" if time.gmtime().tm_hour != 20 else "mon-sun 05:00-05:01"
    assert runner.invoke(args=["kiosk", "desk", field.desk, "--hours", closed_hours]).exit_code == 0
    enrol(tablet, kiosk_server, field.desk, expect="closed")
    assert tablet.locator("h1").inner_text() == "Ngoài giờ làm việc"
    assert "Giờ làm việc hôm nay:" in tablet.locator("main").inner_text()
    assert tablet.locator("[data-action=start]").count() == 0


def test_a_new_questionnaire_waits_for_the_next_person(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    kiosk_server.app.config["KIOSK_HEARTBEAT_SECONDS"] = 1
    enrol(tablet, kiosk_server, field.desk)
    tablet.locator("[data-action=start]").tap()
    tablet.locator('section[data-screen-code="TC"] .opt[data-code="4"]').tap()
    runner = kiosk_server.app.test_cli_runner()
    changed = runner.invoke(args=["kiosk", "desk", field.desk, "--questionnaire", "sipas-service"])
    assert changed.exit_code == 0
    # The new form arrives with a heartbeat, but this person finishes the form they started.
    wait_in_page(
        tablet,
        "async () => { const { KioskStore } = await import('/kiosk/store.js');"
        " const s = await KioskStore.open(); const c = await s.get('config'); s.db.close();"
        " return c.questionnaire.id === 'sipas-service'; }",
    )
    for code in KIOSK_SCREENS[1:-1]:
        tablet.locator(f'section[data-screen-code="{code}"] .opt[data-code="4"]').tap()
    tablet.locator("[data-action=send]").tap()
    screen(tablet, "start")
    wait_until(lambda: count(kiosk_server) == 1)
    assert rows(kiosk_server)[0].questionnaire_version.questionnaire == "sipas-kiosk"
    # The next person gets the desk's new questionnaire.
    tablet.locator("[data-action=start]").tap()
    tablet.wait_for_selector('section[data-screen-code="TC"] h2')  # an element with its criteria
    assert tablet.locator("section[data-screen-code=TC] [role=radiogroup]").count() == 3


def test_a_new_client_takes_over_only_at_the_start_screen(
    kiosk_server: LiveServer, field: Field, tablet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk_server.app.config["KIOSK_HEARTBEAT_SECONDS"] = 1
    enrol(tablet, kiosk_server, field.desk)
    old = shell.version()
    assert tablet.locator('meta[name="sipas-kiosk-version"]').get_attribute("content") == old
    tablet.locator("[data-action=start]").tap()
    tablet.locator('section[data-screen-code="TC"] .opt[data-code="5"]').tap()
    # A new client is deployed while this person answers (a fresh file cache, undone afterwards).
    monkeypatch.setattr(shell, "version", lambda: "0123456789ab")
    monkeypatch.setattr(shell, "shell_file", functools.cache(shell.shell_file.__wrapped__))
    wait_in_page(
        tablet,
        "async () => { const r = await navigator.serviceWorker.getRegistration('/kiosk/');"
        " return Boolean(r && r.waiting); }",
        timeout=15,
    )
    # Installed and waiting; the person's screen is untouched.
    assert tablet.evaluate("document.documentElement.dataset.screen") == "question"
    assert tablet.locator('meta[name="sipas-kiosk-version"]').get_attribute("content") == old
    for code in KIOSK_SCREENS[1:-1]:
        tablet.locator(f'section[data-screen-code="{code}"] .opt[data-code="5"]').tap()
    tablet.locator("[data-action=send]").tap()
    # Back at the start, the new shell takes over (a reload) and serves the new version.
    wait_in_page(
        tablet,
        "document.querySelector('meta[name=sipas-kiosk-version]')?.content === '0123456789ab'"
        " && document.documentElement.dataset.screen === 'start'",
        timeout=15,
    )
    wait_until(lambda: count(kiosk_server) == 1, what="the response sent before the update")


def test_local_store_upgrades_keep_every_record(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    """A tablet holding responses in the version 1 layout opens the version 2 store: all kept."""
    tablet.goto(f"{kiosk_server.url}/kiosk/manifest.webmanifest")  # same origin, no app running
    result = tablet.evaluate(
        """async () => {
      const name = 'sipas-kiosk-upgrade-test';
      const v1 = await new Promise((resolve, reject) => {
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => {
          request.result.createObjectStore('outbox', { keyPath: 'id' });
          request.result.createObjectStore('settings');
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      await new Promise((resolve) => {
        const tx = v1.transaction(['outbox', 'settings'], 'readwrite');
        for (let n = 0; n < 3; n += 1) {
          tx.objectStore('outbox').put({ id: `id-${n}`, created: 1000 + n,
            body: { id: `id-${n}`, desk: 'TEST1', answers: { HL: n + 1 } } });
        }
        tx.objectStore('settings').put('the-token', 'token');
        tx.oncomplete = resolve;
      });
      v1.close();
      const { KioskStore, openDatabase } = await import('/kiosk/store.js');
      const store = new KioskStore(await openDatabase(name));
      const first = await store.next();
      const counts = await store.counts();
      const token = await store.get('token');
      const version = store.db.version;
      store.db.close();
      // An older shell meeting the upgraded store uses it as it is.
      const older = await openDatabase(name, 1);
      const olderVersion = older.version;
      older.close();
      return { first, counts, token, version, olderVersion };
    }"""
    )
    assert result["version"] == 2 and result["olderVersion"] == 2
    assert result["counts"] == {"pending": 3, "rejected": 0}
    assert result["token"] == "the-token"
    first = result["first"]
    assert first["id"] == "id-0" and first["answers"] == {"HL": 1} and first["desk"] == "TEST1"
    assert first["state"] == "pending" and first["queued_at"] == 1000
    assert "body" not in first and "created" not in first


def test_screens_are_large_readable_and_contrasted(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    enrol(tablet, kiosk_server, field.desk)
    checks = {"start": None, "question": "TC", "comment": "YK"}
    for name in checks:
        if name == "question":
            tablet.locator("[data-action=start]").tap()
            tablet.wait_for_selector('section[data-screen-code="TC"]')
        if name == "comment":
            for code in KIOSK_SCREENS[:-1]:
                tablet.locator(f'section[data-screen-code="{code}"] .opt[data-code="4"]').tap()
            tablet.wait_for_selector('section[data-screen-code="YK"]')
        assert tablet.evaluate(CONTRAST_FAILURES) == [], name
        heights = tablet.eval_on_selector_all(
            "button", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        assert min(heights) >= 56, name
        assert tablet.evaluate("document.documentElement.scrollWidth") <= 1280
    # Faces with a word on each answer, in a portrait phone-sized window too.
    tablet.locator("[data-action=back]").tap()
    tablet.set_viewport_size({"width": 360, "height": 740})
    assert tablet.locator(".opt.with-face svg.face").count() == 5
    assert tablet.locator(".opt.with-face .word").all_inner_texts()[-1] == "Rất hài lòng"
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_lost_confirmation_is_sent_again_and_stored_once(
    kiosk_server: LiveServer, field: Field, browser: Any
) -> None:
    """The server stores a response but its answer never reaches the tablet (the Wi-Fi drops at
    that moment): the tablet sends it again, and the server answers the replay as before."""
    # No service worker here, so that Playwright sees (and cuts) the tablet's requests.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, has_touch=True, service_workers="block"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    seen: list[int] = []

    def cut_the_first_answer(route: Any) -> None:
        answer = route.fetch()  # the server stores it …
        seen.append(answer.status)
        if len(seen) == 1:
            route.abort("connectionreset")  # … and the tablet never hears so
        else:
            route.fulfill(response=answer)

    page.route("**/kiosk/api/responses", cut_the_first_answer)
    try:
        page.goto(f"{kiosk_server.url}/kiosk/#enrol={enrolment_code(kiosk_server.app, field.desk)}")
        screen(page, "start")
        answer_all(page, level=2)
        wait_until(lambda: count(kiosk_server) == 1, what="the response on the server")
        page.evaluate("window.dispatchEvent(new Event('online'))")  # retry now, not in 2 s
        deadline = time.monotonic() + 15
        while len(seen) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(100)  # lets Playwright run the route handler meanwhile
        wait_in_page(page, f"({OUTBOX})().then((records) => records.length === 0)")
        assert seen == [200, 200]
        assert count(kiosk_server) == 1
    finally:
        context.close()


def test_installable_as_an_app(kiosk_server: LiveServer, field: Field, tablet: Any) -> None:
    enrol(tablet, kiosk_server, field.desk)
    cdp = tablet.context.new_cdp_session(tablet)
    assert cdp.send("Page.getAppManifest")["errors"] == []
    errors = {
        e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    }
    # Playwright's contexts are incognito profiles, where Chromium never offers to install.
    assert errors <= {"in-incognito"}, errors


def test_a_desk_can_show_the_full_service_questionnaire(
    kiosk_server: LiveServer, field: Field, tablet: Any
) -> None:
    """Any questionnaire per desk: sipas-service has several questions per element, optional
    expectation and profile screens; each screen is one element, optional ones can be skipped."""
    runner = kiosk_server.app.test_cli_runner()
    runner.invoke(args=["kiosk", "desk", field.desk, "--questionnaire", "sipas-service"])
    enrol(tablet, kiosk_server, field.desk)
    tablet.locator("[data-action=start]").tap()
    codes = ["TC", "TT", "CC", "KQ", "PA", "HL", "MM", "YK", "TTCN"]
    for n, code in enumerate(codes):
        section = tablet.locator(f'section[data-screen-code="{code}"]')
        section.wait_for()
        assert tablet.locator(".progress-text").inner_text() == f"Câu {n + 1}/{len(codes)}"
        if code in ("TC", "TT", "CC", "KQ", "PA"):
            for group in section.locator("[role=radiogroup]").all():
                group.locator(".opt[data-code='4']").tap()
        elif code == "HL":
            section.locator(".opt[data-code='5']").tap()  # one required question: moves on
            continue
        elif code == "TTCN":
            section.locator("[role=radiogroup]").first.locator(".opt").first.tap()
        button = "send" if code == codes[-1] else "next"
        tablet.locator(f"[data-action={button}]").tap()  # optional screens: skipped
    screen(tablet, "thanks")
    wait_until(lambda: count(kiosk_server) == 1)
    [row] = rows(kiosk_server)
    assert row.questionnaire_version.questionnaire == "sipas-service"
    answers = {a.item: a.code for a in row.answers}
    assert answers["TC1"] == answers["PA3"] == 4 and answers["HL"] == 5 and answers["RTYPE"] == 1
    assert "Q10_5" not in answers and row.valid
