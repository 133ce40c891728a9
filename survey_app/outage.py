"""Answers while the database is unreachable: 503, never a 500, and no answers lost on screen.

A citizen who sends a survey gets a page that holds every field they sent and a button to send
it again (the form's submission id makes a second arrival count once); machine clients get
JSON, and the kiosk tablet keeps the response queued and retries (kiosk/static/queue.js).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError

from .errors import wants_json

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
#: Endpoints whose form is sent again from the outage page.
RESENDABLE = {"citizen.submit"}
#: Monitoring reads the health check's answer as JSON.
JSON_PATHS = {"/healthz"}


def outage_response() -> Response:
    title = _("Hệ thống tạm thời gián đoạn")
    message = _(
        "Máy chủ dữ liệu đang tạm ngừng. Câu trả lời của Ông/Bà chưa được gửi nhưng vẫn được "
        "giữ trên trang này; vui lòng bấm “Gửi lại” sau ít phút."
    )
    if wants_json() or request.path in JSON_PATHS:
        response = jsonify(
            error="unavailable", message="the database is unavailable; retry", status=503
        )
    else:
        resend = request.method == "POST" and request.endpoint in RESENDABLE
        fields = list(request.form.items(multi=True)) if resend else []
        if not resend:
            message = _("Hệ thống đang bận hoặc bảo trì. Vui lòng thử lại sau ít phút.")
        response = Response(
            render_template(
                "outage.html", title=title, message=message, fields=fields, resend=resend
            )
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _handle(error: Exception) -> Response:
    # OperationalError: cannot connect, or the connection died; InterfaceError: it was closed.
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    return outage_response()


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, _handle)
    app.register_error_handler(InterfaceError, _handle)
