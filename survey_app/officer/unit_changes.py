"""Recording the changes of the map (administrators): the list of merges, splits, renames and
moves, and the form that records a merger. The rules are in survey_app/services/unit_history.py;
a refused change is shown with its message (which names the record and the rule), nothing
written."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..db import get_session
from ..models import RANKED_KINDS, Unit
from ..services import accounts, unit_history
from . import bp
from .access import tree
from .auth import current_officer, require_admin
from .field import kind_names


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MergeForm(FlaskForm):
    sources = Checkboxes(_l("Các đơn vị sáp nhập"), choices=[])
    into = SelectField(_l("Thành đơn vị"), choices=[])
    new_code = StringField(
        _l("Mã đơn vị mới (nếu thành đơn vị mới)"),
        validators=[Optional(), Length(max=32)],
        filters=[lambda v: (v or "").strip().upper()],
    )
    new_name = StringField(_l("Tên đơn vị mới"), validators=[Optional(), Length(max=200)])
    new_kind = SelectField(_l("Loại đơn vị mới"), choices=[])
    parent = SelectField(_l("Thuộc"), choices=[])
    effective_on = DateField(
        _l("Có hiệu lực từ ngày"), validators=[DataRequired(_l("Vui lòng nhập ngày hiệu lực."))]
    )
    basis = StringField(_l("Căn cứ (nghị quyết, quyết định)"), validators=[Length(max=200)])


NEW = "__new__"


def _form() -> MergeForm:
    form = MergeForm()
    units = sorted(tree().units.values(), key=lambda u: (u.valid_to is not None, u.name))
    existing = [(u.code, f"{u.name} ({u.code})") for u in units if u.valid_to is None]
    # Ended units are offered too: recording them again is refused with the rule's message.
    form.sources.choices = [
        (
            u.code,
            f"{u.name} ({u.code})" + (f" – {_('đến')} {u.valid_to:%d/%m/%Y}" if u.valid_to else ""),
        )
        for u in units
    ]
    form.into.choices = [(NEW, _("— đơn vị mới —")), *existing]
    names = kind_names()
    form.new_kind.choices = [(k, names[k]) for k in RANKED_KINDS]
    form.parent.choices = existing
    return form


def _page(form: MergeForm, status: int, error: str = "") -> ResponseReturnValue:
    changes = unit_history.all_changes(get_session())
    return (
        render_template(
            "officer/unit_changes.html",
            form=form,
            error=error,
            changes=[(c, unit_history.describe(c)) for c in changes],
        ),
        status,
    )


@bp.get("/field/unit-changes")
@require_admin
def unit_changes() -> ResponseReturnValue:
    return _page(_form(), 200)


@bp.post("/field/unit-changes/merge")
@require_admin
def record_merge() -> ResponseReturnValue:
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 400)
    t = tree()
    sources = [t.by_code[c] for c in form.sources.data or [] if c in t.by_code]
    day: date = form.effective_on.data  # type: ignore[assignment]
    target: Unit | unit_history.NewUnit
    if form.into.data == NEW:
        if not form.new_code.data or not (form.new_name.data or "").strip():
            form.new_code.errors = [_("Đơn vị mới cần có mã và tên.")]
            return _page(form, 400)
        target = unit_history.NewUnit(
            form.new_code.data,
            form.new_name.data or "",
            form.new_kind.data or "commune",
            t.by_code.get(form.parent.data or ""),
        )
    else:
        target = t.by_code[form.into.data or ""]
    db = get_session()
    try:
        change = unit_history.merge(
            db, t, sources, target, day, basis=form.basis.data or "", by=current_officer()
        )
    except unit_history.UnitChangeError as refused:
        db.rollback()
        return _page(form, 422, str(refused))
    text = unit_history.describe(change)
    accounts.record(
        db, "unit_merge", officer=current_officer(), target=change.units_on("to")[0].code,
        change=text,
    )  # fmt: skip
    db.commit()
    flash(_("Đã ghi nhận: %(change)s", change=text), "notice")
    return redirect(url_for("officer.unit_changes"))
