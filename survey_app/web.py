"""Cross-cutting HTTP behaviour: compression, CSRF, security and cache headers."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlencode

from flask import Flask, Response, abort, current_app, has_request_context, request, url_for
from flask_compress import Compress
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

compress = Compress()
csrf = CSRFProtect()

PAGE_CSS = Path(__file__).parent / "static" / "sipas.css"


@cache
def page_css() -> str:
    """The pages' style sheet, inlined: on a slow connection a separate file costs a round trip
    before the first paint, more than its ~1.3 KB compressed."""
    return PAGE_CSS.read_text(encoding="utf-8").strip()


@cache
def content_security_policy() -> str:
    # No inline script anywhere (pages work without JavaScript); the one inline style is pinned
    # by its hash.
    digest = base64.b64encode(hashlib.sha256(page_css().encode()).digest()).decode()
    return (
        f"default-src 'self'; img-src 'self' data:; style-src 'self' 'sha256-{digest}'; "
        "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Invitation links carry a token in the query string: never leak it to other sites.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # For browsers that predate CSP's frame-ancestors, and no window shared with other sites.
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        # Served over HTTPS only (README "Production"): browsers never try plain HTTP again.
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint == "static":
        # Static URLs carry a content version (?v=…), so they may be cached for a year.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@cache
def _content_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """A static file's URL carrying a hash of its content, so it can be cached for good."""
    folder = Path(current_app.static_folder or "")
    return url_for("static", filename=filename, v=_content_version(folder / filename))


def public_base_url() -> str:
    """The absolute address people open: SIPAS_PUBLIC_BASE_URL, else the one this request came to
    (so a QR code served on another port than 5000 still scans to this server)."""
    if current_app.config["PUBLIC_BASE_URL_GUESSED"] and has_request_context():
        return request.host_url.rstrip("/")
    return str(current_app.config["PUBLIC_BASE_URL"])


def language_url(lang: str) -> str:
    """This page's address in another language (the visible switch in the header)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    try:
        if request.method == "POST" and request.form.get("t"):
            args["t"] = request.form["t"]  # keep a dossier invitation across the switch
    except HTTPException:
        pass  # an error page for a body we refused to read
    args["lang"] = lang
    return f"{request.path}?{urlencode(args)}"


def _read_static_files(response: Response) -> Response:
    """Read a static file into memory before it is compressed.

    Flask-Compress wraps a streamed body in a generator and the file it came from is never
    closed; static files here are small, so read them and let the response close the file.
    """
    if request.endpoint == "static" and response.is_streamed:
        response.direct_passthrough = False
        response.make_sequence()
    return response


def _refuse_undecodable_forms() -> None:
    """A form body whose values are not UTF-8 is refused whole.

    Werkzeug would silently drop such a field (or keep its %-escapes as text), losing or
    garbling a comment without telling anyone.
    """
    if request.mimetype != "application/x-www-form-urlencoded":
        return
    body = request.get_data(cache=True)  # the form parser reads the cached body afterwards
    # Unquoting the whole body at once is enough: the separators "&" and "=" are ASCII, so no
    # multi-byte character can span two fields.
    try:
        unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        abort(400)


def init_app(app: Flask) -> None:
    compress.init_app(app)
    app.before_request(_refuse_undecodable_forms)
    csrf.init_app(app)
    app.after_request(_security_headers)
    app.after_request(_read_static_files)  # registered after Compress, so it runs before it
    app.jinja_env.globals.update(
        static_url=static_url, language_url=language_url, page_css=page_css
    )
