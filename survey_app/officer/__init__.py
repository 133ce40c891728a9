"""The officer workspace (under /officer): sign-in, scores at a glance, comments, integrity
review, field management, targets, API tokens and the audit log."""

from flask import Blueprint

bp = Blueprint("officer", __name__, template_folder="templates")

from . import admin, auth, dashboard, feedback, field, formatting, kiosks, unit_changes  # noqa: E402,F401
