"""Loaders of the workspace and the reports: each checks the signed-in officer's scope, so a
unit, desk or response outside it answers 403 (logged) and never shows its data."""

from __future__ import annotations

from typing import NoReturn

from flask import current_app, g, request
from flask_babel import gettext as _

import questionnaires
from questionnaires import Questionnaire

from ..db import get_session
from ..errors import friendly_abort
from ..models import Desk, Unit
from ..services import accounts, field_register, periods, unit_history
from ..services.accounts import Scope, UnitTree
from ..services.dashboard import ALL_FORMS
from ..services.periods import Period
from .auth import current_officer


def tree() -> UnitTree:
    return accounts.unit_tree(get_session())


def current_scope() -> Scope:
    if "scope" not in g:
        g.scope = accounts.officer_scope(tree(), current_officer())
    scope: Scope = g.scope
    return scope


def deny(target: str) -> NoReturn:
    """Refuse a unit outside the officer's scope: 403, and a line in the audit log."""
    db = get_session()
    accounts.record(
        db, "access_denied", officer=current_officer(), target=target[:200], path=request.path
    )
    db.commit()
    friendly_abort(
        403,
        _("Không có quyền truy cập"),
        _("Đơn vị này nằm ngoài phạm vi được giao cho tài khoản của Ông/Bà."),
    )


def unit_or_abort(code: str) -> Unit:
    unit = tree().by_code.get(code.strip().upper()[:32])
    if unit is None:
        friendly_abort(
            404,
            _("Không tìm thấy đơn vị"),
            _("Không có đơn vị mang mã “%(code)s”.", code=code[:32]),
        )
    if not current_scope().allows(unit.id):
        deny(unit.code)
    return unit


def desk_or_abort(code: str) -> Desk:
    desk = field_register.desk_by_code(get_session(), code.strip().upper()[:16])
    if desk is None:
        friendly_abort(
            404, _("Không tìm thấy quầy"), _("Không có quầy mang mã “%(code)s”.", code=code[:16])
        )
    if not current_scope().allows(desk.unit_id):
        deny(desk.code)
    return desk


def period_from_args() -> Period:
    label = request.args.get("period", "").strip()
    if not label:
        return periods.current_year(current_app.config["TIME_ZONE"])
    try:
        return periods.parse(label)
    except periods.PeriodError:
        friendly_abort(
            400,
            _("Kỳ báo cáo không hợp lệ"),
            _(
                "Kỳ báo cáo là một năm (2026), một quý (Q2/2026), một tháng (05/2026) hoặc "
                "một khoảng ngày (01/05/2026 - 20/05/2026); đã nhận “%(period)s”.",
                period=label[:40],
            ),
        )


def view_from_args() -> str:
    """``today`` (default: today's units, predecessors rolled in) or ``as_it_was``."""
    chosen = request.args.get("view", "").strip() or "today"
    if chosen not in unit_history.VIEWS:
        friendly_abort(
            400,
            _("Cách xem không hợp lệ"),
            _(
                "Cách xem là “today” (đơn vị hiện nay) hoặc “as_it_was” (đơn vị như lúc đó); "
                "đã nhận “%(view)s”.",
                view=chosen[:20],
            ),
        )
    return chosen


def questionnaire_from_args() -> Questionnaire:
    chosen = request.args.get("q", "").strip()
    if chosen in ("", ALL_FORMS):
        # "all" (every form, pooled) is the dashboard's headline; the rest of the page and the
        # reports score the default form.
        chosen = current_app.config["DEFAULT_QUESTIONNAIRE"]
    if chosen not in questionnaires.available():
        friendly_abort(
            400,
            _("Phiếu khảo sát không hợp lệ"),
            _("Không có phiếu khảo sát “%(q)s”.", q=chosen[:32]),
        )
    return questionnaires.get(chosen)


def scope_roots() -> list[Unit]:
    t = tree()
    return [t.units[i] for i in current_scope().root_ids if i in t.units]
