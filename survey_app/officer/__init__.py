"""The officer workspace (under /officer): sign-in, scores at a glance, comments, integrity
review, field management, targets, API tokens and the audit log."""

from flask import Blueprint

bp = Blueprint("officer", __name__, template_folder="templates")

from . import (  # noqa: E402,F401
    admin,
    auth,
    dashboard,
    decision766,
    feedback,
    field,
    formatting,
    kiosks,
    unit_changes,
)

# The province's own survey (issue 15): its own module, one line here.
from . import survey as survey  # noqa: E402,F401
