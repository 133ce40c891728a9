"""The kiosk: serves the tablet client and answers it (enrolment, configuration, responses,
heartbeat). Every API call is authenticated by the device's bearer token, not a session."""

from flask import Blueprint

bp = Blueprint("kiosk", __name__)

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
