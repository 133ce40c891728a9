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
    # The dashboard's headline pools every desk form (analysis/README.md "All-channel SIPAS"):
    # each form weighs by its respondents ("respondents") or the forms equally ("equal").
    "POOLING": "respondents",
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
    # -- scores nobody can stuff (README "Integrity and privacy") --
    # Limits at the door (Flask-Limiter; "N per minute;M per hour" …): submissions of the public
    # survey per client address and per desk, uploads per kiosk device. The counters live in
    # RATELIMIT_STORAGE_URI: memory:// for one process (`make run`), redis://127.0.0.1:6379/0 in
    # production, where several gunicorn workers must share them.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_ENABLED": True,
    # Redis unreachable: let requests through (logged) rather than refuse every citizen.
    "RATELIMIT_SWALLOW_ERRORS": True,
    "SURVEY_LIMIT_PER_ADDRESS": "6 per minute;30 per hour;60 per day",
    "SURVEY_LIMIT_PER_DESK": "20 per minute;240 per hour;1500 per day",
    "KIOSK_LIMIT_PER_DEVICE": "60 per minute;1200 per hour",
    # The signals judged at intake (services/integrity.py names each rule and its settings).
    "INTEGRITY_SIGNALS": True,
    "INTEGRITY_BURST_MIN": 12,
    "INTEGRITY_BURST_FACTOR": 4.0,
    "INTEGRITY_BURST_WEEKS": 4,
    "INTEGRITY_BATCH_MIN": 6,
    "INTEGRITY_BATCH_FETCH_SECONDS": 120,
    "INTEGRITY_BATCH_POST_SECONDS": 300,
    "INTEGRITY_SOURCE_MAX": 6,
    "INTEGRITY_SAME_MIN": 6,
    "INTEGRITY_SAME_SECONDS": 1800,
    "INTEGRITY_SAME_MAX_DIFF": 1,
    "INTEGRITY_KIOSK_ORDER_SECONDS": 120,
    # Flagged responses at one desk each within this many minutes of the one before form one
    # episode on the review page (decided at once).
    "INTEGRITY_EPISODE_GAP_MINUTES": 120,
    # Source digests are blanked this many days after the response (`sipas purge`).
    "INTEGRITY_SOURCE_DAYS": 30,
    # Scores count responses unflagged or kept by a reviewer ("exclude"), or every response
    # not excluded by a reviewer ("include", as before issue 11).
    "SCORE_FLAGGED": "exclude",
    # Below this n an index is flagged and not ranked (SIPAS.md §5).
    "SCORE_MIN_N": 30,
    # A desk's day is highlighted when its SIPAS is this many points below the 28 days before,
    # with at least this many responses that day and p < 0.05.
    "DROP_ALERT_POINTS": 15,
    "DROP_ALERT_MIN_N": 5,
    # The largest page of raw responses the JSON API returns.
    "API_MAX_PAGE_SIZE": 1000,
    # -- the one-stop system (README "One-stop system") --
    # A bulk POST to /api/v1/invitations or /api/v1/dossiers: at most this many items and bytes.
    "ONESTOP_MAX_ITEMS": 100_000,
    "ONESTOP_MAX_BYTES": 32 * 1024 * 1024,
    # QR images inline in an invitations answer (?qr=svg|png) for at most this many items.
    "ONESTOP_INLINE_QR_MAX": 100,
    # Key of the dossier and petition digests (defaults to SECRET_KEY; keep it when rotating
    # SECRET_KEY, or later events no longer find their dossiers).
    "ONESTOP_DIGEST_KEY": None,
    # Sending invitation links: "log" (default, writes to the log) or "http" (a provider
    # gateway, interface in survey_app/services/invitation_sender.py). The text and the ZNS
    # template are fixed here, never by the caller; each send needs the citizen's consent.
    "INVITATION_SENDER": "log",
    "INVITATION_SENDER_URL": None,
    "INVITATION_SENDER_API_KEY": None,
    "INVITATION_SENDER_TIMEOUT": 5.0,
    "INVITATION_SEND_CHANNELS": ("sms", "zalo_zns"),
    "INVITATION_SMS_TEMPLATE": (
        "Moi Ong/Ba danh gia su phuc vu cua quay {desk} (han {expires_on}): {link}"
    ),
    "INVITATION_ZNS_TEMPLATE_ID": "sipas_invitation",
    # Decision 766 group 5, a reference calculation (SIPAS.md §9; analysis/decision766.py):
    # a rate earns full points from this share (%), each criterion is worth these points, and a
    # unit with no dossier or petition in the month earns full points (True) or none (False).
    "D766_FULL_RATE": 90.0,
    "D766_POINTS": 6.0,
    "D766_EMPTY_EARNS_FULL": True,
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
