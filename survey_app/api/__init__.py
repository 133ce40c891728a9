"""The index-plan feed: a read-only JSON API under /api/v1/, authenticated by API tokens that
an administrator issues and revokes, each scoped to a unit like an officer."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import onestop, routes  # noqa: E402,F401
