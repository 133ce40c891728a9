"""Decision 766 group 5 beside SIPAS on a unit's dashboard: the board the partial template
``officer/_decision766.html`` shows (one include line in dashboard.html, so the dashboard's
own layout can change around it)."""

from __future__ import annotations

from flask import current_app

from ..db import get_session
from ..models import Unit
from ..services import decision766
from ..services.periods import Period
from . import bp
from .access import current_scope, tree


@bp.app_template_global("decision766_board")
def decision766_board(unit: Unit, period: Period) -> decision766.Board:
    """The board of ``unit`` for ``period`` (only the units and desks in the officer's scope,
    which the dashboard's unit already is)."""
    config = current_app.config
    if not current_scope().allows(unit.id):  # the dashboard checked; never show more
        raise PermissionError(unit.code)
    return decision766.board(
        get_session(),
        tree(),
        unit,
        period,
        time_zone=config["TIME_ZONE"],
        settings=decision766.settings_from(config),
    )
