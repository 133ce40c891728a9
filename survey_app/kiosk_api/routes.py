"""Routes of the kiosk: the client's files, enrolment, configuration, responses, heartbeat."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from flask import Response, current_app, jsonify, make_response, request

from ..db import get_session
from ..models import KioskDevice, utcnow
from ..security import bounded_json
from ..security.limits import device_key, kiosk_per_device, limiter, limits_off
from ..services import kiosk_devices as devices
from ..services.kiosk_settings import settings_for
from ..services.questionnaire_store import current_version
from ..web import csrf
from . import bp, shell
from .client_form import client_questionnaire
from .submissions import Rejected, read_submission, store

# The token is the authentication of every call here: a session CSRF token cannot work for a
# response a tablet replays hours later, and no cookie is ever read.
csrf.exempt(bp)

ENROLMENT_REFUSALS = {
    "unknown": (403, "unknown_code", "this enrolment code does not exist"),
    "used": (410, "code_used", "this enrolment code has already been used"),
    "expired": (410, "code_expired", "this enrolment code has expired; ask for a new one"),
    "desk_inactive": (403, "desk_inactive", "the desk of this code no longer takes responses"),
}
MAX_COUNT = 10_000_000


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise Rejected(415, "not_json", "send the body as JSON (Content-Type: application/json)")
    try:
        # The answers are checked item by item against the questionnaire (422 names the item).
        return bounded_json.loads(request.get_data(cache=False), validated=("answers",))
    except UnicodeDecodeError:
        raise Rejected(400, "malformed_json", "the body is not valid JSON") from None
    except bounded_json.JSONRefused as error:
        raise Rejected(400, "malformed_json", str(error)) from None


def _device() -> KioskDevice:
    """The device named by the bearer token; 401 without a known token, 403 once revoked."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Rejected(401, "no_token", "send the device token as Authorization: Bearer <token>")
    device = devices.device_for_token(get_session(), token.strip())
    if device is None:
        raise Rejected(401, "unknown_token", "this device token is not known")
    if device.revoked_at is not None:
        raise Rejected(403, "device_revoked", "this kiosk's enrolment has been revoked")
    if not device.desk.active or not device.desk.unit.active:
        raise Rejected(403, "desk_inactive", "the desk of this kiosk no longer takes responses")
    return device


# -- the client ---------------------------------------------------------------------------------


def _serve(name: str) -> Response:
    served = shell.shell_file(name)
    response = make_response(served.body)
    response.mimetype = served.mimetype.split(";")[0]
    response.headers["Content-Type"] = served.mimetype
    # Revalidated every time (a 304 when unchanged): the service worker, not the HTTP cache,
    # keeps the tablet working offline, and a stale file must never mix with a new shell.
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(served.etag)
    if name == "sw.js":
        response.headers["Service-Worker-Allowed"] = "/kiosk/"
    response.make_conditional(request)  # in place: a 304 when the tablet has this file
    return response


@bp.get("/")
def client_shell() -> Response:
    return _serve("index.html")


@bp.get("/<any(" + ", ".join(n for n in shell.FILES if n != "index.html") + "):name>")
def client_file(name: str) -> Response:
    return _serve(name)


# -- the API ------------------------------------------------------------------------------------


def _client_form(device: KioskDevice) -> tuple[int, dict[str, Any]]:
    """The desk's current kiosk questionnaire version as the tablet draws it (cached)."""
    session = get_session()
    version = current_version(session, device.desk.kiosk_questionnaire)
    session.commit()  # the version row, if this was its first use
    cache: dict[str, dict[str, Any]] = current_app.extensions.setdefault(
        "sipas.kiosk_client_forms", {}
    )
    content_hash = version.questionnaire.content_hash
    if content_hash not in cache:
        cache[content_hash] = client_questionnaire(version.questionnaire)
    return version.id, cache[content_hash]


def configuration(device: KioskDevice) -> dict[str, Any]:
    """Everything the tablet works by, and a digest of it (``config_version``) so that a
    heartbeat tells the tablet when to fetch it again."""
    _version_id, form = _client_form(device)
    settings = settings_for(device)
    desk = device.desk
    config: dict[str, Any] = {
        "device": {"id": device.id, "label": device.label},
        "desk": {"code": desk.code, "name": desk.name, "unit": desk.unit.name},
        "questionnaire": form,
        "settings": {
            "idle_seconds": settings.idle_seconds,
            "thanks_seconds": settings.thanks_seconds,
            "heartbeat_seconds": settings.heartbeat_seconds,
            "retry_max_seconds": settings.retry_max_seconds,
            "opening_hours": desk.opening_hours,
            "time_zone": current_app.config["TIME_ZONE"],
        },
    }
    canonical = json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    config["config_version"] = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return config


def _status(device: KioskDevice, received: datetime) -> dict[str, Any]:
    return {
        "server_time": iso(received),
        "shell_version": shell.version(),
        "config_version": configuration(device)["config_version"],
    }


@bp.post("/api/enrol")
def enrol() -> Response:
    """Exchange a one-time enrolment code for the device token (shown once) and the config."""
    # The server's time as the request arrived: the tablet sets its clock offset from it.
    received = utcnow()
    body = _json_body()
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not 0 < len(code) <= 64:
        raise Rejected(400, "malformed", 'send {"code": "<the enrolment code>"}')
    session = get_session()
    try:
        device, token = devices.exchange(session, code)
    except devices.EnrolmentRefused as refused:
        session.rollback()
        status, error, message = ENROLMENT_REFUSALS[refused.kind]
        raise Rejected(status, error, message) from None
    session.commit()
    return _answer(
        {"token": token, "config": configuration(device), "server_time": iso(received)}, 201
    )


@bp.get("/api/config")
def config() -> Response:
    received = utcnow()
    device = _device()
    return _answer({**configuration(device), "server_time": iso(received)})


@bp.post("/api/responses")
@limiter.limit(kiosk_per_device, key_func=device_key, exempt_when=limits_off)
def submit() -> Response:
    device = _device()
    submission = read_submission(_json_body())
    stored = store(get_session(), device, settings_for(device), submission)
    return _answer(stored.body())


def _count(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise Rejected(400, "malformed", f"{name} must be a whole number from 0")
    return value


@bp.post("/api/heartbeat")
def heartbeat() -> Response:
    """The tablet's last contact and what waits in its queue, for the officer workspace."""
    received = utcnow()
    device = _device()
    body = _json_body()
    if not isinstance(body, dict):
        raise Rejected(400, "malformed", "the body must be a JSON object")
    queue_length, rejected = _count(body, "queue_length"), _count(body, "rejected")
    client_version = body.get("client_version")
    if client_version is not None and not isinstance(client_version, str):
        raise Rejected(400, "malformed", "client_version must be a text")
    device.last_seen_at = device.heartbeat_at = received
    device.last_queue_length = queue_length
    device.last_rejected_count = rejected
    if client_version:
        device.client_version = client_version[:32]
    session = get_session()
    session.commit()
    return _answer(_status(device, received))
