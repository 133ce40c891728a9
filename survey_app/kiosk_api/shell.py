"""The kiosk client's files (kiosk/static), served by the app with one version for them all.

The version is a digest of every file, so publishing a new client changes the service worker's
bytes, which is what makes an installed tablet fetch the new shell (kiosk/static/sw.js).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import kiosk

STATIC = Path(kiosk.__file__).parent / "static"

#: Every file of the client and its type; the service worker precaches all but itself.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "kiosk.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "screens.js": "text/javascript; charset=utf-8",
    "faces.js": "text/javascript; charset=utf-8",
    "text.js": "text/javascript; charset=utf-8",
    "hours.js": "text/javascript; charset=utf-8",
    "queue.js": "text/javascript; charset=utf-8",
    "store.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
    "manifest.webmanifest": "application/manifest+json",
    "sw.js": "text/javascript; charset=utf-8",
}
VERSION_MARK = "__SHELL_VERSION__"
ASSETS_MARK = "__SHELL_ASSETS__"


@dataclass(frozen=True)
class ShellFile:
    body: bytes
    mimetype: str
    etag: str


@cache
def version() -> str:
    """A digest of all the client's files (12 hex digits)."""
    whole = hashlib.sha256()
    for name in sorted(FILES):
        whole.update(name.encode() + b"\0" + (STATIC / name).read_bytes() + b"\0")
    return whole.hexdigest()[:12]


def precached() -> list[str]:
    """The URLs the service worker stores for offline use (the shell is served at /kiosk/)."""
    return [
        "/kiosk/",
        *(f"/kiosk/{name}" for name in sorted(FILES) if name not in ("index.html", "sw.js")),
    ]


@cache
def shell_file(name: str) -> ShellFile:
    """A client file as served: the shell and the service worker carry the version."""
    body = (STATIC / name).read_bytes()
    if name in ("index.html", "sw.js"):
        text = body.decode("utf-8").replace(VERSION_MARK, version())
        if name == "sw.js":
            listed = ",\n  ".join(f'"{url}"' for url in precached())
            text = text.replace(ASSETS_MARK, listed)
        body = text.encode("utf-8")
    return ShellFile(body, FILES[name], hashlib.sha256(body).hexdigest()[:16])
