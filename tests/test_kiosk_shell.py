"""The kiosk client as the app serves it: the files, their version, caching, size and policy."""

from __future__ import annotations

import json
import re

import brotli
import pytest
from flask.testing import FlaskClient

from survey_app.kiosk_api import shell

FILES = [name for name in shell.FILES if name != "index.html"]


def test_the_shell_page(client: FlaskClient) -> None:
    answer = client.get("/kiosk/")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert f'<meta name="sipas-kiosk-version" content="{shell.version()}">' in page
    assert '<html lang="vi">' in page and 'rel="manifest"' in page
    # The app's strict policy applies unchanged: scripts are files, never inline.
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "style=" not in page
    assert answer.headers["Cache-Control"] == "no-cache"
    assert client.get("/kiosk").status_code in (301, 308)


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_served_and_revalidated(client: FlaskClient, name: str) -> None:
    answer = client.get(f"/kiosk/{name}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == shell.FILES[name]
    etag = answer.headers["ETag"]
    again = client.get(f"/kiosk/{name}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data


def test_compressed_with_brotli_and_revalidated(client: FlaskClient) -> None:
    answer = client.get("/kiosk/app.js", headers={"Accept-Encoding": "br"})
    assert answer.headers["Content-Encoding"] == "br"
    assert brotli.decompress(answer.data) == shell.shell_file("app.js").body
    again = client.get(
        "/kiosk/app.js", headers={"Accept-Encoding": "br", "If-None-Match": answer.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_service_worker_precaches_every_file_of_this_version(client: FlaskClient) -> None:
    worker = client.get("/kiosk/sw.js").get_data(as_text=True)
    assert f"const VERSION = '{shell.version()}';" in worker
    block = re.search(r"const SHELL = \[(.*?)\];", worker, re.S)
    assert block is not None
    listed = re.findall(r'"(/kiosk/[^"]*)"', block[1])
    assert sorted(listed) == sorted(["/kiosk/", *(f"/kiosk/{n}" for n in FILES if n != "sw.js")])
    assert "__SHELL" not in worker
    # Never a POST or an API call from the cache.
    assert "request.method !== 'GET'" in worker and "api/" in worker


def test_manifest_makes_an_installable_full_screen_app(client: FlaskClient) -> None:
    manifest = json.loads(client.get("/kiosk/manifest.webmanifest").data)
    assert manifest["display"] == "fullscreen"
    assert manifest["start_url"] == manifest["scope"] == "/kiosk/"
    assert manifest["icons"] and manifest["lang"] == "vi"


def test_unknown_files_are_404(client: FlaskClient) -> None:
    for path in ("/kiosk/nope.js", "/kiosk/../pyproject.toml", "/kiosk/static/app.js"):
        assert client.get(path).status_code == 404


def test_the_whole_client_fits_the_first_load_budget(client: FlaskClient) -> None:
    """≤ 150 KB for a first visit (issue 4); bench/kiosk_load.py measures it in Chromium."""
    total = sum(
        len(client.get(f"/kiosk/{name}", headers={"Accept-Encoding": "br"}).data)
        for name in ["", *FILES]
    )
    assert total < 40 * 1024
