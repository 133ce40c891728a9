"""The real client address and scheme behind a configured number of reverse proxies."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Trust X-Forwarded-For/-Proto from exactly ``TRUSTED_PROXIES`` hops (0: trust none).

    Sign-in throttling and the audit log key on the client address; without this, every
    officer behind the proxy would share the proxy's address (and one lock).
    """
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops < 0:
        raise ValueError(f"SIPAS_TRUSTED_PROXIES must be 0 or more, got {hops}")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
