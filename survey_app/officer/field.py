"""Managing the field: units, desks (questionnaire, opening hours), the service catalogue.
Every change is written to the audit log with what changed."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TimeField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

import questionnaires

from ..db import get_session
from ..errors import friendly_abort
from ..models import UNIT_KINDS, Desk, Service, Unit
from ..services import accounts, field_register
from ..services import opening_hours as hours
from . import bp
from .access import current_scope, desk_or_abort, tree, unit_or_abort
from .auth import current_officer, require_admin, require_edit
from .formatting import options

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")


def weekday_names() -> list[tuple[str, str]]:
    return [
        ("0", _("Thứ Hai")),
        ("1", _("Thứ Ba")),
        ("2", _("Thứ Tư")),
        ("3", _("Thứ Năm")),
        ("4", _("Thứ Sáu")),
        ("5", _("Thứ Bảy")),
        ("6", _("Chủ Nhật")),
    ]


def kind_names() -> dict[str, str]:
    return {
        "province": _("Tỉnh, thành phố"),
        "commune": _("Xã"),
        "ward": _("Phường"),
        "special_zone": _("Đặc khu"),
        "district": _("Cấp huyện (trước 1/7/2025)"),
        "center": _("Trung tâm phục vụ hành chính công"),
        "branch": _("Chi nhánh, trung tâm cấp xã"),
        "reception_point": _("Điểm tiếp nhận"),
        "national": _("Toàn quốc (liên thông các tỉnh)"),
    }


class UnitForm(FlaskForm):
    code = StringField(
        _l("Mã đơn vị"),
        validators=[
            DataRequired(_l("Vui lòng nhập mã.")),
            Length(max=32),
            Regexp(CODE, message=_l("Mã gồm chữ in hoa, số và dấu gạch ngang.")),
        ],
        filters=[lambda v: (v or "").strip().upper()],
    )
    name = StringField(
        _l("Tên đơn vị"), validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=200)]
    )
    kind = SelectField(_l("Cấp"), choices=options((k, k) for k in UNIT_KINDS))
    parent = SelectField(_l("Thuộc đơn vị"), choices=[])
    active = BooleanField(_l("Đang hoạt động"), default=True)


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DeskForm(FlaskForm):
    code = StringField(
        _l("Mã quầy (in dưới mã QR)"),
        validators=[
            DataRequired(_l("Vui lòng nhập mã.")),
            Length(min=2, max=16),
            Regexp(CODE, message=_l("Mã gồm chữ in hoa, số và dấu gạch ngang.")),
        ],
        filters=[lambda v: (v or "").strip().upper()],
    )
    name = StringField(
        _l("Tên quầy"), validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=200)]
    )
    unit = SelectField(_l("Đơn vị"), choices=[])
    questionnaire = SelectField(_l("Phiếu khảo sát"), choices=[])
    active = BooleanField(_l("Đang nhận đánh giá"), default=True)
    days = MultiCheckbox(_l("Ngày làm việc"), choices=[])
    am_open = TimeField(_l("Sáng từ"), validators=[Optional()])
    am_close = TimeField(_l("đến"), validators=[Optional()])
    pm_open = TimeField(_l("Chiều từ"), validators=[Optional()])
    pm_close = TimeField(_l("đến"), validators=[Optional()])

    def validate_am_close(self, field: TimeField) -> None:
        _check_session(self.am_open.data, field.data)

    def validate_pm_close(self, field: TimeField) -> None:
        _check_session(self.pm_open.data, field.data)


def _check_session(opens: time | None, closes: time | None) -> None:
    if (opens is None) != (closes is None):
        raise ValidationError(_("Nhập cả giờ bắt đầu và giờ kết thúc."))
    if opens is not None and closes is not None and closes <= opens:
        raise ValidationError(_("Giờ kết thúc phải sau giờ bắt đầu."))


class ServiceForm(FlaskForm):
    code = StringField(
        _l("Mã thủ tục"),
        validators=[DataRequired(_l("Vui lòng nhập mã.")), Length(max=32)],
        filters=[lambda v: (v or "").strip()],
    )
    name = StringField(
        _l("Tên thủ tục"), validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=300)]
    )
    active = BooleanField(_l("Đang áp dụng"), default=True)


def _scope_units() -> list[Unit]:
    scope = current_scope()
    return [u for u in tree().units.values() if scope.allows(u.id)]


@bp.get("/field")
def field() -> ResponseReturnValue:
    db = get_session()
    units = _scope_units()
    ids = [u.id for u in units]
    desks = field_register.desks_of(db, ids)
    hours = {desk.id: hours_text(desk.opening_hours) for desk in desks}
    by_unit: dict[int, list[Desk]] = {}
    for desk in desks:
        by_unit.setdefault(desk.unit_id, []).append(desk)
    ordered = _ordered(units)
    return render_template(
        "officer/field.html",
        units=ordered,
        by_unit=by_unit,
        hours=hours,
        kind_names=kind_names(),
    )


def _ordered(units: list[Unit]) -> list[tuple[int, Unit]]:
    """Units in tree order with their depth, for an indented list."""
    allowed = {u.id for u in units}
    t = tree()
    out: list[tuple[int, Unit]] = []

    def walk(unit: Unit, depth: int) -> None:
        if unit.id in allowed:
            out.append((depth, unit))
        for child in t.children.get(unit.id, []):
            walk(child, depth + 1)

    for root in t.roots():
        walk(root, 0)
    return out


# -- units (administrators) ------------------------------------------------------------------


def _unit_form(unit: Unit | None) -> UnitForm:
    form = UnitForm(obj=unit) if request.method == "GET" and unit else UnitForm()
    names = kind_names()
    form.kind.choices = options((k, names[k]) for k in UNIT_KINDS)
    form.parent.choices = options(
        [("", _("(không có, cấp cao nhất)"))]
        + [
            (u.code, u.name)
            for _d, u in _ordered(list(tree().units.values()))
            if unit is None or u.id not in tree().subtree_ids(unit.id)
        ]
    )
    if request.method == "GET" and unit is not None:
        form.parent.data = unit.parent.code if unit.parent else ""
    return form


@bp.route("/field/units/new", methods=["GET", "POST"])
@require_admin
def new_unit() -> ResponseReturnValue:
    return _edit_unit(None)


@bp.route("/field/units/<code>", methods=["GET", "POST"])
@require_admin
def edit_unit(code: str) -> ResponseReturnValue:
    return _edit_unit(unit_or_abort(code))


def _edit_unit(unit: Unit | None) -> ResponseReturnValue:
    form = _unit_form(unit)
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("officer/unit_form.html", form=form, unit=unit), status
    db = get_session()
    clash = field_register.unit_by_code(db, form.code.data)
    if clash is not None and clash is not unit:
        form.code.errors = [_("Mã này đã được dùng.")]
        return render_template("officer/unit_form.html", form=form, unit=unit), 400
    parent = tree().by_code.get(form.parent.data) if form.parent.data else None
    target = unit or Unit()
    changes = _apply(
        target,
        {
            "code": form.code.data,
            "name": form.name.data.strip(),
            "kind": form.kind.data,
            "parent_id": parent.id if parent else None,
            "active": form.active.data,
        },
    )
    if unit is None:
        db.add(target)
    db.flush()
    accounts.record(
        db,
        "unit_created" if unit is None else "unit_updated",
        officer=current_officer(),
        target=target.code,
        changes=_shown(changes),
    )
    db.commit()
    flash(_("Đã lưu đơn vị %(name)s.", name=target.name), "notice")
    return redirect(url_for("officer.field"))


def _apply(obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the attributes that differ; returns {name: (old, new)} for the audit log."""
    changes = {}
    for name, value in values.items():
        old = getattr(obj, name, None)
        if old != value:
            changes[name] = (old, value)
            setattr(obj, name, value)
    return changes


def _shown(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[str]]:
    return {k: [str(old), str(new)] for k, (old, new) in changes.items()}


# -- desks (administrators and unit officers, within their scope) -----------------------------


def _desk_form(desk: Desk | None) -> DeskForm:
    form = DeskForm(obj=desk) if request.method == "GET" and desk else DeskForm()
    form.unit.choices = options((u.code, u.name) for _d, u in _ordered(_scope_units()))
    form.questionnaire.choices = options((q, q) for q in sorted(questionnaires.available()))
    form.days.choices = options(weekday_names())
    if request.method == "GET":
        if desk is not None:
            form.unit.data = desk.unit.code
            opening = desk.opening_hours or {}
            form.days.data = [str(i) for i, day in enumerate(hours.DAYS) if opening.get(day)]
            sessions = sorted(
                _session(text) for day in hours.DAYS for text in opening.get(day, [])[:2]
            )
            morning = [s for s in sessions if s[0].hour < 12]
            afternoon = [s for s in sessions if s[0].hour >= 12]
            if morning:
                form.am_open.data, form.am_close.data = morning[0]
            if afternoon:
                form.pm_open.data, form.pm_close.data = afternoon[0]
        else:
            form.days.data = ["0", "1", "2", "3", "4"]
            form.am_open.data, form.am_close.data = time(7, 30), time(11, 30)
            form.pm_open.data, form.pm_close.data = time(13, 30), time(17, 0)
            form.questionnaire.data = "sipas-service"
    return form


@bp.route("/field/desks/new", methods=["GET", "POST"])
@require_edit
def new_desk() -> ResponseReturnValue:
    return _edit_desk(None)


@bp.route("/field/desks/<code>", methods=["GET", "POST"])
@require_edit
def edit_desk(code: str) -> ResponseReturnValue:
    return _edit_desk(desk_or_abort(code))


def _edit_desk(desk: Desk | None) -> ResponseReturnValue:
    if request.method == "POST" and request.form.get("unit"):
        unit_or_abort(request.form["unit"])  # a unit outside the scope: 403, logged
    form = _desk_form(desk)
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("officer/desk_form.html", form=form, desk=desk), status
    db = get_session()
    unit = unit_or_abort(form.unit.data)
    clash = field_register.desk_by_code(db, form.code.data)
    if clash is not None and clash is not desk:
        form.code.errors = [_("Mã này đã được dùng.")]
        return render_template("officer/desk_form.html", form=form, desk=desk), 400
    target = desk or Desk()
    changes = _apply(
        target,
        {
            "code": form.code.data,
            "name": form.name.data.strip(),
            "unit_id": unit.id,
            "questionnaire": form.questionnaire.data,
            "active": form.active.data,
        },
    )
    if desk is None:
        db.add(target)
    db.flush()
    opening = _save_hours(target, form)
    accounts.record(
        db,
        "desk_created" if desk is None else "desk_updated",
        officer=current_officer(),
        target=target.code,
        changes=_shown(changes),
        hours=opening,
    )
    db.commit()
    flash(_("Đã lưu quầy %(name)s.", name=target.name), "notice")
    return redirect(url_for("officer.field"))


def _session(text: str) -> tuple[time, time]:
    opens, _, closes = text.partition("-")
    return time.fromisoformat(opens), time.fromisoformat("23:59" if closes == "24:00" else closes)


def _save_hours(desk: Desk, form: DeskForm) -> str:
    """Store the form's days and sessions in the desk's hours (the kiosk obeys the same field).

    No day ticked means no opening hours at all: the desk's kiosk then always takes responses.
    """
    intervals = [
        f"{opens:%H:%M}-{closes:%H:%M}"
        for opens, closes in (
            (form.am_open.data, form.am_close.data),
            (form.pm_open.data, form.pm_close.data),
        )
        if opens is not None and closes is not None
    ]
    days = sorted({int(d) for d in form.days.data or [] if d.isdigit() and 0 <= int(d) <= 6})
    desk.opening_hours = (
        hours.validate({hours.DAYS[day]: intervals for day in days}) if days and intervals else None
    )
    return hours.describe(desk.opening_hours)


def hours_text(opening: dict[str, list[str]] | None) -> str:
    """A desk's hours for people: "Thứ Hai – Thứ Sáu 07:30–11:30, 13:30–17:00"."""
    if opening is None:
        return _("Không giới hạn giờ")
    names = dict(zip(hours.DAYS, (name for _code, name in weekday_names()), strict=True))
    parts = []
    for days, intervals in hours.runs(opening):
        span = names[days[0]] if len(days) == 1 else f"{names[days[0]]} – {names[days[-1]]}"
        parts.append(f"{span} {', '.join(i.replace('-', '–') for i in intervals)}")
    return "; ".join(parts) or _("Đóng cửa cả tuần")


# -- services (administrators) ----------------------------------------------------------------


@bp.get("/field/services")
def services() -> ResponseReturnValue:
    rows = field_register.all_services(get_session())
    return render_template("officer/services.html", services=rows)


@bp.route("/field/services/new", methods=["GET", "POST"])
@require_admin
def new_service() -> ResponseReturnValue:
    return _edit_service(None)


@bp.route("/field/services/<code>", methods=["GET", "POST"])
@require_admin
def edit_service(code: str) -> ResponseReturnValue:
    service = field_register.service_by_code(get_session(), code[:32])
    if service is None:
        friendly_abort(404, _("Không tìm thấy thủ tục"), _("Không có thủ tục mang mã này."))
    return _edit_service(service)


def _edit_service(service: Service | None) -> ResponseReturnValue:
    form = ServiceForm(obj=service) if request.method == "GET" and service else ServiceForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("officer/service_form.html", form=form, service=service), status
    db = get_session()
    clash = field_register.service_by_code(db, form.code.data)
    if clash is not None and clash is not service:
        form.code.errors = [_("Mã này đã được dùng.")]
        return render_template("officer/service_form.html", form=form, service=service), 400
    target = service or Service()
    changes = _apply(
        target, {"code": form.code.data, "name": form.name.data.strip(), "active": form.active.data}
    )
    if service is None:
        db.add(target)
    db.flush()
    accounts.record(
        db,
        "service_created" if service is None else "service_updated",
        officer=current_officer(),
        target=target.code,
        changes=_shown(changes),
    )
    db.commit()
    flash(_("Đã lưu thủ tục %(code)s.", code=target.code), "notice")
    return redirect(url_for("officer.services"))
