"""Limits at the door: submissions per client address, per desk and per kiosk device.

Flask-Limiter counts them in ``RATELIMIT_STORAGE_URI`` (memory for one process; Redis, shared by
every gunicorn worker, in production), keyed by the real client address: ``security.proxies``
has already replaced ``remote_addr`` with what the trusted proxies forwarded. The limits are
settings (``SURVEY_LIMIT_PER_ADDRESS``, ``SURVEY_LIMIT_PER_DESK``, ``KIOSK_LIMIT_PER_DEVICE``).

A citizen who is limited gets a calm page that holds their answers and a "Gửi lại" button
(as in a database outage), never a bare 429; machine clients get the app's JSON error shape
with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from ..errors import wants_json

#: Endpoints whose limited form is kept on the page, to be sent again.
RESENDABLE = {"citizen.submit"}


def client_address() -> str:
    """The real client address (after ProxyFix, SIPAS_TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def desk_key() -> str:
    code = str((request.view_args or {}).get("code", "")).strip().upper()
    return f"desk:{code[:32]}"


def device_key() -> str:
    """The kiosk device by a digest of its bearer token (the token itself is never a key)."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    if not token:
        return f"addr:{client_address()}"
    return "device:" + hashlib.sha256(token.encode()).hexdigest()[:32]


limiter = Limiter(key_func=client_address, key_prefix="sipas")


def survey_per_address() -> str:
    return str(current_app.config["SURVEY_LIMIT_PER_ADDRESS"])


def survey_per_desk() -> str:
    return str(current_app.config["SURVEY_LIMIT_PER_DESK"])


def kiosk_per_device() -> str:
    return str(current_app.config["KIOSK_LIMIT_PER_DEVICE"])


def _retry_after(error: RateLimitExceeded) -> int:
    reset = getattr(limiter.current_limit, "reset_at", None)
    if reset:
        return max(1, math.ceil(reset - time.time()))
    return max(1, int(error.limit.limit.get_expiry()))


def limited(error: RateLimitExceeded) -> Response:
    """The answer to a limited request: JSON for machines, a page keeping the answers for
    people."""
    retry = _retry_after(error)
    if wants_json():
        response = jsonify(
            error="too_many_requests",
            message=f"too many requests ({error.description}); retry after {retry} s",
            status=429,
            retry_after=retry,
        )
    else:
        minutes = max(1, math.ceil(retry / 60))
        resend = request.method == "POST" and request.endpoint in RESENDABLE
        fields = list(request.form.items(multi=True)) if resend else []
        title = _("Xin Ông/Bà đợi một chút")
        if resend:
            message = _(
                "Hệ thống đang nhận quá nhiều phiếu từ cùng một nơi. Câu trả lời của Ông/Bà "
                "chưa được gửi nhưng vẫn được giữ trên trang này; vui lòng bấm “Gửi lại” sau "
                "khoảng %(minutes)s phút.",
                minutes=minutes,
            )
        else:
            message = _(
                "Hệ thống đang nhận quá nhiều yêu cầu từ cùng một nơi. Vui lòng thử lại sau "
                "khoảng %(minutes)s phút.",
                minutes=minutes,
            )
        response = Response(
            render_template(
                "outage.html", title=title, message=message, fields=fields, resend=resend
            )
        )
    response.status_code = 429
    response.headers["Retry-After"] = str(retry)
    response.headers["Cache-Control"] = "no-store"
    return response


def limits_off() -> bool:
    """RATELIMIT_ENABLED of the app serving the request (False: every limit is exempt)."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def init_app(app: Flask) -> None:
    # Flask-Limiter keeps "enabled" on the extension object, shared by every app of the
    # process (the last one initialised wins); so it is always enabled, and each app's own
    # RATELIMIT_ENABLED is read per request by ``limits_off``.
    wanted = app.config.get("RATELIMIT_ENABLED", True)
    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)
    app.config["RATELIMIT_ENABLED"] = wanted
    app.register_error_handler(RateLimitExceeded, limited)
