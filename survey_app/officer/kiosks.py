"""Kiosk tablets of the units in scope: last contact and queue length, enrol, revoke, re-enrol.

The enrolment itself is the kiosk's (survey_app/services/kiosk_devices.py), the same functions
`sipas kiosk enrol` and `sipas kiosk revoke` use; this module adds the officer's scope, the
audit log and the page.
"""

from __future__ import annotations

import base64

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..db import get_session
from ..errors import friendly_abort
from ..kiosk_api.commands import enrolment_url
from ..models import Desk, KioskDevice
from ..services import accounts, field_register
from ..services import kiosk_devices as devices
from ..services.qr import qr_png
from . import bp
from .access import current_scope, deny, desk_or_abort
from .auth import current_officer, require_edit
from .formatting import options


class EnrolForm(FlaskForm):
    desk = SelectField(_l("Quầy"), choices=[])
    label = StringField(
        _l("Tên thiết bị"), validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=100)]
    )


def _desks_in_scope() -> list[Desk]:
    scope = current_scope()
    return [d for d in field_register.all_desks(get_session()) if scope.allows(d.unit_id)]


def _device_in_scope(device_id: int) -> tuple[KioskDevice, Desk]:
    db = get_session()
    device = db.get(KioskDevice, device_id)
    if device is None:
        friendly_abort(404, _("Không tìm thấy thiết bị"), _("Không có thiết bị này."))
    desk = db.get(Desk, device.desk_id)
    if desk is None or not current_scope().allows(desk.unit_id):
        deny(f"kiosk {device_id}")
    return device, desk


def _show_code(issued: devices.IssuedEnrolment, desk: Desk) -> ResponseReturnValue:
    """The one-time code, its address and QR: shown once, never stored in readable form."""
    url = enrolment_url(issued.code)
    qr = base64.b64encode(qr_png(url, box_size=6)).decode()
    return render_template(
        "officer/kiosk_enrolled.html",
        device=issued.device,
        secret=devices.format_code(issued.code),
        url=url,
        qr=qr,
        expires_at=issued.expires_at,
        desk=desk,
    )


@bp.get("/field/kiosks")
def kiosk_devices() -> ResponseReturnValue:
    desks = {d.id: d for d in _desks_in_scope()}
    devices_in_scope = field_register.kiosks_of(get_session(), desks)
    form = EnrolForm()
    form.desk.choices = options((d.code, f"{d.code} · {d.name}") for d in desks.values())
    return render_template("officer/kiosks.html", devices=devices_in_scope, desks=desks, form=form)


@bp.post("/field/kiosks/enrol")
@require_edit
def enrol_kiosk() -> ResponseReturnValue:
    if request.form.get("desk"):
        desk_or_abort(request.form["desk"])  # a desk outside the officer's scope: 403, logged
    form = EnrolForm()
    form.desk.choices = options((d.code, d.code) for d in _desks_in_scope())
    if not form.validate_on_submit():
        flash(_("Vui lòng chọn quầy và đặt tên thiết bị."), "error")
        return redirect(url_for("officer.kiosk_devices"))
    desk = desk_or_abort(form.desk.data)
    db = get_session()
    issued = devices.enrol_device(
        db, desk, form.label.data, hours=float(current_app.config["KIOSK_ENROLMENT_HOURS"])
    )
    accounts.record(
        db,
        "kiosk_enrolled",
        officer=current_officer(),
        target=desk.code,
        device=issued.device.id,
        label=issued.device.label,
    )
    db.commit()
    return _show_code(issued, desk)


@bp.post("/field/kiosks/<int:device_id>/code")
@require_edit
def reissue_kiosk_code(device_id: int) -> ResponseReturnValue:
    """A new code for a device: a wiped tablet, an expired code, or back after a revocation."""
    device, desk = _device_in_scope(device_id)
    db = get_session()
    issued = devices.reissue(db, device, hours=float(current_app.config["KIOSK_ENROLMENT_HOURS"]))
    accounts.record(
        db, "kiosk_code_issued", officer=current_officer(), target=desk.code, device=device.id
    )
    db.commit()
    return _show_code(issued, desk)


@bp.post("/field/kiosks/<int:device_id>/revoke")
@require_edit
def revoke_kiosk(device_id: int) -> ResponseReturnValue:
    device, desk = _device_in_scope(device_id)
    db = get_session()
    if device.revoked_at is None:
        devices.revoke(db, device)
        accounts.record(
            db, "kiosk_revoked", officer=current_officer(), target=desk.code, device=device_id
        )
        db.commit()
    flash(_("Đã thu hồi thiết bị."), "notice")
    return redirect(url_for("officer.kiosk_devices"))
