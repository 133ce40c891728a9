"""Settings that follow from where the app runs: HTTPS-only cookies behind an https base URL,
and a production start that refuses an unsafe configuration."""

from __future__ import annotations

from flask import Flask

#: Shorter keys are refused in production (32 random bytes, hex: 64 characters).
MIN_SECRET_LENGTH = 32


class UnsafeConfiguration(RuntimeError):
    """A production start with a setting that would expose officers or citizens."""


def uses_https(app: Flask) -> bool:
    return str(app.config["PUBLIC_BASE_URL"]).lower().startswith("https://")


def apply_cookie_defaults(app: Flask, explicit: set[str]) -> None:
    """Secure, ``__Host-`` cookies when the public address is https (unless set explicitly).

    ``__Host-`` makes the browser refuse the cookie unless it came over HTTPS from this very
    host with path "/", so neither plain HTTP nor a sibling subdomain can plant or read it.
    """
    if not uses_https(app):
        return
    if "SESSION_COOKIE_SECURE" not in explicit:
        app.config["SESSION_COOKIE_SECURE"] = True
    if "SESSION_COOKIE_NAME" not in explicit and app.config["SESSION_COOKIE_SECURE"]:
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["SESSION_COOKIE_DOMAIN"] = None


def check(app: Flask, *, generated_key: bool) -> None:
    """Refuse to start with SIPAS_ENV=production and a generated key or debug on."""
    if str(app.config.get("ENV", "")).lower() != "production":
        return
    problems = []
    if generated_key:
        problems.append("SIPAS_SECRET_KEY is not set (a generated key was about to be used)")
    elif len(str(app.config["SECRET_KEY"])) < MIN_SECRET_LENGTH:
        problems.append(f"SIPAS_SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters")
    if app.debug or app.config.get("DEBUG"):
        problems.append("debug mode is on (unset SIPAS_DEBUG / FLASK_DEBUG)")
    if problems:
        raise UnsafeConfiguration(
            "refusing to start with SIPAS_ENV=production: "
            + "; ".join(problems)
            + " (README: Production)"
        )
