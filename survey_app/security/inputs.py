"""Request inputs refused before any view reads them: NUL characters in the path, the query or
a form (PostgreSQL cannot store them in text, and no person types one), and whole numbers in
URLs beyond the 32-bit columns they are looked up in."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, Map, ValidationError

from ..errors import refuse


def refuse_nul_characters() -> None:
    """400 with a message for a NUL anywhere in the path, query string or form fields."""
    found = "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    )
    if not found and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        found = any(
            "\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)
        )
    if found:
        refuse(
            400,
            _("Dữ liệu không hợp lệ"),
            _("Dữ liệu gửi lên có ký tự NUL không được phép. Vui lòng xóa ký tự đó rồi gửi lại."),
        )


#: The largest id of a 32-bit INTEGER column (PostgreSQL refuses a larger value with an error).
INT_MAX = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` in a route, at most ``INT_MAX`` unless the route says otherwise (a larger id
    matches no row: 404, not a database error)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(INT_MAX)):
            raise ValidationError()
        result: int = super().to_python(value)
        return result


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(refuse_nul_characters)
