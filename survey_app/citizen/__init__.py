"""The citizen survey: what a person sees after scanning a desk's QR code."""

from flask import Blueprint

bp = Blueprint("citizen", __name__, template_folder="templates")

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
