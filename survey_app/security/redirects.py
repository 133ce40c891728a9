"""Where the app may send a browser after a form: only a path of this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, rebuilt from its parsed parts; else None.

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so
    ``/\\t/evil.example`` would become the scheme-relative ``//evil.example``: any control
    character or backslash refuses the target before it is parsed.
    """
    if not target or len(target) > 2000:
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if target.startswith("//") or parts.path.startswith("//"):
        return None
    rebuilt = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    # A path that reads as another host once rebuilt is refused too (defence in depth).
    return rebuilt if urlsplit(rebuilt).netloc == "" else None
