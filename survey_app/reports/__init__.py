"""Reports to download (under /officer/reports): Excel, CSV of raw responses, PDF summaries
and QR posters. Builders are plain functions in this package; the views only check
permission, log the export and send the bytes."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from . import exports, routes  # noqa: E402,F401

# The province's own survey (issue 15): its own module, one line here.
from . import survey as survey  # noqa: E402,F401
