"""Vietnamese first, English on request: the language of each request and date formatting."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, request
from flask_babel import Babel

babel = Babel()

LANGUAGE_COOKIE = "lang"


def select_language() -> str:
    """``?lang=`` (the visible switch) wins, then the remembered choice, then Vietnamese."""
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate in languages:
            return str(candidate)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def current_language() -> str:
    if "lang" not in g:
        g.lang = select_language()
    return str(g.lang)


def _remember_choice(response: Response) -> Response:
    chosen = request.args.get("lang", "")
    if chosen in current_app.config["LANGUAGES"] and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response


def local_date(value: datetime) -> str:
    """dd/mm/yyyy in the country's time zone (pages show dates this way in both languages)."""
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    return value.astimezone(zone).strftime("%d/%m/%Y")


def local_datetime(value: datetime) -> str:
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=current_language)
    app.after_request(_remember_choice)
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["datetime"] = local_datetime
    app.jinja_env.globals["current_language"] = current_language
