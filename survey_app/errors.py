"""Error answers: a friendly page for people, JSON for machine clients; never a bare 500."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from flask import Flask, Response, abort, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/kiosk/api/")

#: The stable ``error`` code of a JSON answer for an HTTP error no view named more precisely.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_requests",
    503: "unavailable",
}


class JsonError(Exception):
    """A refusal answered to a machine client, in the one JSON error shape of the app:
    ``{"error": <stable code>, "message": <for the person reading logs>, "status": <HTTP>}``
    and any extra fields (the kiosk's ``problems``). Documented as ``Error`` in the OpenAPI
    document; the kiosk client reads ``error``, so the shape stays flat."""

    def __init__(
        self, status: int, code: str, message: str, *, realm: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        #: For a 401: the ``WWW-Authenticate`` realm to name.
        self.realm = realm

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "status": self.status, **self.extra}


def json_error(error: JsonError) -> Response:
    """The answer to a :class:`JsonError` (the app's one JSON error handler)."""
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers["Cache-Control"] = "no-store"
    if error.status == 401 and error.realm:
        response.headers["WWW-Authenticate"] = f'Bearer realm="{error.realm}"'
    return response


def _messages(status: int) -> tuple[str, str]:
    known = {
        400: (
            _("Yêu cầu không hợp lệ"),
            _("Trang nhận được dữ liệu không đúng. Vui lòng thử lại."),
        ),
        403: (_("Không có quyền truy cập"), _("Ông/Bà không có quyền xem trang này.")),
        404: (
            _("Không tìm thấy trang"),
            _("Địa chỉ này không có hoặc đã thay đổi. Vui lòng kiểm tra lại đường dẫn."),
        ),
        405: (
            _("Thao tác không được hỗ trợ"),
            _("Trang này không nhận kiểu yêu cầu vừa gửi. Vui lòng mở lại trang từ đầu."),
        ),
        413: (
            _("Dữ liệu gửi lên quá lớn"),
            _("Nội dung gửi lên vượt quá giới hạn cho phép. Vui lòng rút gọn rồi gửi lại."),
        ),
        429: (_("Quá nhiều yêu cầu"), _("Vui lòng đợi một lát rồi thử lại.")),
        503: (_("Tạm thời gián đoạn"), _("Hệ thống đang bận hoặc bảo trì. Vui lòng thử lại sau.")),
    }
    return known.get(
        status, (_("Đã có lỗi xảy ra"), _("Hệ thống gặp sự cố. Vui lòng thử lại sau ít phút."))
    )


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def way_back() -> list[tuple[str, str]]:
    """Links out of an error page: the page the person came from (on this site), and the
    start page of the part of the site they were in."""
    from flask_babel import gettext as _

    links: list[tuple[str, str]] = []
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url) and referrer != request.url:
        links.append((referrer, _("Quay lại trang trước")))
    if request.path.startswith(("/officer", "/reports")):
        links.append(("/officer/", _("Về trang chỉ số")))
    else:
        links.append(("/", _("Về trang chủ")))
    return links


def error_page(status: int, title: str, message: str, **context: object) -> Response:
    context.setdefault("back_links", way_back())
    response = Response(
        render_template("error.html", status=status, title=title, message=message, **context),
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse(status: int, title: str, message: str) -> NoReturn:
    """Stop the request with ``message``: JSON to machine clients, a page to people."""
    if wants_json():
        raise JsonError(status, STATUS_CODES.get(status, "server_error"), message)
    friendly_abort(status, title, message)


def friendly_abort(status: int, title: str, message: str, **context: object) -> NoReturn:
    """Stop the request with a page written for the person reading it."""
    abort(error_page(status, title, message, **context))


def _handle_http(error: HTTPException) -> Response:
    status = error.code or 500
    title, message = _messages(status)
    if wants_json():
        response = json_error(JsonError(status, STATUS_CODES.get(status, "server_error"), message))
    else:
        response = error_page(status, title, message)
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return response


def _handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _handle_http(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(JsonError, json_error)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
