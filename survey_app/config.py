"""Default settings; every one can be overridden by an environment variable SIPAS_<NAME>."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

#: Where `sipas run` listens by default: the links' base when none is configured.
LOCAL_BASE_URL = "http://127.0.0.1:5000"

DEFAULTS: dict[str, object] = {
    # SQLite in the instance folder unless SIPAS_DATABASE_URL names another database.
    "DATABASE_URL": None,
    # Absolute base of the links printed in QR codes and invitations, e.g. https://sipas.quangninh.gov.vn
    # Unset: pages use the address each request came to, and commands LOCAL_BASE_URL (saying so).
    "PUBLIC_BASE_URL": None,
    "PUBLIC_BASE_URL_GUESSED": False,
    # The bodies we accept are small forms; anything larger is refused before it is parsed.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_PARTS": 300,
    # A person may leave the form open a long while before answering.
    "WTF_CSRF_TIME_LIMIT": 24 * 3600,
    "SURVEY_FORM_MAX_AGE": 24 * 3600,
    "INVITATION_DAYS": 30,
    # Retention (`sipas purge`, README "Retention"): comments' free text is blanked this many
    # days after the response; a used invitation's dossier digest is deleted this many days
    # after its use (more than an invitation can stay valid, or the dossier could answer twice).
    "RETENTION_COMMENT_DAYS": 730,
    "RETENTION_INVITATION_DAYS": 400,
    # Folder of pg_dump, pg_restore and psql for `sipas backup`/`restore` (found when unset).
    "PG_BINDIR": None,
    # A web response completed faster than this is stored with the flag "too_fast".
    "SURVEY_MIN_SECONDS": 10,
    # After sending, reopening the same desk's survey in this window says "already sent" (with a
    # link to a new form for someone else), so going back and sending again counts once.
    "SURVEY_REPEAT_WINDOW": 30 * 60,
    "DEFAULT_QUESTIONNAIRE": "sipas-service",
    # Kiosk tablets (README "Kiosk tablets"). Seconds without a touch before a half-answered
    # survey is discarded, and how long the thank-you screen stays.
    "KIOSK_IDLE_SECONDS": 60,
    "KIOSK_THANKS_SECONDS": 5,
    # Stuffing checks per device, both overridable per device: responses completed faster, or
    # beyond this many in an hour, are stored with the flag too_fast / over_rate.
    "KIOSK_MIN_SECONDS": 6,
    "KIOSK_MAX_PER_HOUR": 30,
    # How long a one-time enrolment code stays usable.
    "KIOSK_ENROLMENT_HOURS": 24,
    # Sanity of the device's answer time: at most this far ahead of the server's clock, this
    # many days old, and a survey this long.
    "KIOSK_CLOCK_SKEW_SECONDS": 300,
    "KIOSK_MAX_AGE_DAYS": 90,
    "KIOSK_MAX_DURATION_SECONDS": 3600,
    # The tablet reports its queue this often, and waits at most this long between upload tries.
    "KIOSK_HEARTBEAT_SECONDS": 60,
    "KIOSK_RETRY_MAX_SECONDS": 300,
    "TIME_ZONE": "Asia/Ho_Chi_Minh",
    "BABEL_DEFAULT_LOCALE": "vi",
    "LANGUAGES": ("vi", "en"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "COMPRESS_MIMETYPES": [
        "text/html",
        "text/css",
        "text/plain",
        "application/json",
        "image/svg+xml",
        "application/javascript",
        "text/javascript",
        "application/manifest+json",
    ],
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_MIN_SIZE": 256,
    # -- the officer workspace --
    # A signed-in officer who does nothing for this long must sign in again …
    "OFFICER_IDLE_MINUTES": 30,
    # … and every session ends after a working day, whatever happens.
    "OFFICER_SESSION_HOURS": 10,
    # Sign-in is refused (429) after this many attempts for a username, or 4× as many from one
    # address, within the window; a browser the officer signed in with before is counted on
    # its own (README "Security").
    "SIGN_IN_MAX_FAILURES": 5,
    "SIGN_IN_WINDOW_SECONDS": 15 * 60,
    # How many reverse proxies in front of the app add X-Forwarded-For/-Proto (nginx: 1). With
    # 0 those headers are ignored: a client could write anything in them.
    "TRUSTED_PROXIES": 0,
    # Below this n an index is flagged and not ranked (SIPAS.md §5).
    "SCORE_MIN_N": 30,
    # A desk's day is highlighted when its SIPAS is this many points below the 28 days before,
    # with at least this many responses that day and p < 0.05.
    "DROP_ALERT_POINTS": 15,
    "DROP_ALERT_MIN_N": 5,
    # The largest page of raw responses the JSON API returns.
    "API_MAX_PAGE_SIZE": 1000,
    # -- exports built in the background (README "Exports of all responses") --
    # Folder of the files (default: exports/ in the instance folder).
    "EXPORT_FOLDER": None,
    # A running job that has not reported progress for this long died with its process.
    "EXPORT_STALE_SECONDS": 120,
    # Files (and their jobs' links) are removed this long after they were made.
    "EXPORT_KEEP_HOURS": 48,
    # The CSV link streams the file at once up to this many responses; beyond, it starts a job.
    "CSV_STREAM_MAX_ROWS": 100_000,
}


def default_database_url(app: Flask) -> str:
    return f"sqlite:///{Path(app.instance_path) / 'sipas.sqlite3'}"


def load_secret_key(app: Flask) -> str:
    """The key signing sessions and invitation links: set SIPAS_SECRET_KEY in production.

    Without it, a random key is made once and kept in the instance folder, so links printed on
    receipts stay valid across restarts.
    """
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
