"""The index plan's targets, officer accounts, API tokens and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput

from ..config import DEFAULTS
from ..db import get_session
from ..errors import friendly_abort
from ..models import ROLES, ApiToken, Officer, Target, utcnow
from ..services import accounts, decision766, periods
from ..services import targets as plan_targets
from ..services.index_codes import target_codes
from . import bp
from .access import current_scope, deny, tree, unit_or_abort
from .auth import current_officer, require_admin, require_edit
from .feedback import page_number
from .formatting import options

#: The default questionnaire's indices first (SIPAS, its elements, HL), then other forms' own.
TARGET_CODES = (
    *target_codes(str(DEFAULTS["DEFAULT_QUESTIONNAIRE"])),
    decision766.TARGET_CODE,  # Decision 766 group 5, in points out of 18
)


class TargetForm(FlaskForm):
    unit = SelectField(_l("Đơn vị"), choices=[])
    code = SelectField(_l("Chỉ số"), choices=options((c, c) for c in TARGET_CODES))
    period = StringField(
        _l("Kỳ (để trống: mọi kỳ)"),
        validators=[Length(max=16)],
        filters=[lambda v: (v or "").strip()],
    )
    value = DecimalField(
        _l("Chỉ tiêu (%)"),
        places=2,
        validators=[
            DataRequired(_l("Vui lòng nhập chỉ tiêu.")),
            NumberRange(0, 100, message=_l("Chỉ tiêu từ 0 đến 100.")),
        ],
    )

    def validate_period(self, field: StringField) -> None:
        if field.data:
            try:
                period = periods.parse(field.data)
            except periods.PeriodError as error:
                raise ValidationError(_("Kỳ là 2026, 2026-Q2 hoặc 2026-05.")) from error
            if period.kind == "custom":  # a target is set for a year, a quarter or a month
                raise ValidationError(_("Kỳ là 2026, 2026-Q2 hoặc 2026-05."))
            # Stored as scores name it, so "05/2026" joins the May 2026 scores.
            field.data = period.label


def _scope_unit_pairs() -> list[tuple[str, str]]:
    scope = current_scope()
    return [(u.code, u.name) for u in tree().units.values() if scope.allows(u.id)]


def _scope_unit_choices() -> list[SelectChoice]:
    return options(_scope_unit_pairs())


@bp.get("/targets")
def targets() -> ResponseReturnValue:
    form = TargetForm()
    form.unit.choices = _scope_unit_choices()
    return _targets_page(form)


def _targets_page(form: TargetForm, status: int = 200) -> ResponseReturnValue:
    rows = plan_targets.targets_of(get_session(), current_scope().unit_ids)
    return render_template("officer/targets.html", rows=rows, form=form), status


@bp.post("/targets")
@require_edit
def set_target() -> ResponseReturnValue:
    if request.form.get("unit"):
        unit_or_abort(request.form["unit"])  # another unit's plan: 403, logged
    form = TargetForm()
    form.unit.choices = _scope_unit_choices()
    if not form.validate_on_submit():
        return _targets_page(form, 400)
    unit = unit_or_abort(form.unit.data)
    db = get_session()
    row, before = plan_targets.set_target(
        db, unit, form.code.data, form.period.data, float(form.value.data), current_officer()
    )
    accounts.record(
        db,
        "target_set",
        officer=current_officer(),
        target=unit.code,
        code=row.code,
        period=row.period,
        before=before,
        after=row.value,
    )
    db.commit()
    flash(_("Đã lưu chỉ tiêu."), "notice")
    return redirect(url_for("officer.targets"))


@bp.post("/targets/<int:target_id>/delete")
@require_edit
def delete_target(target_id: int) -> ResponseReturnValue:
    db = get_session()
    row = db.get(Target, target_id)
    if row is None:
        friendly_abort(404, _("Không tìm thấy chỉ tiêu"), _("Chỉ tiêu này không còn."))
    if not current_scope().allows(row.unit_id):
        deny(f"target {target_id}")
    accounts.record(
        db,
        "target_deleted",
        officer=current_officer(),
        target=row.unit.code,
        code=row.code,
        period=row.period,
        before=row.value,
    )
    db.delete(row)
    db.commit()
    flash(_("Đã xóa chỉ tiêu."), "notice")
    return redirect(url_for("officer.targets"))


# -- officer accounts (administrators) ---------------------------------------------------------


class OfficerForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Vui lòng nhập tên đăng nhập.")), Length(max=64)],
    )
    full_name = StringField(_l("Họ và tên"), validators=[Length(max=200)])
    role = SelectField(_l("Vai trò"), choices=options((r, r) for r in ROLES))
    unit = SelectField(_l("Đơn vị"), choices=[], validators=[Optional()])
    password = PasswordField(
        _l("Mật khẩu (ít nhất 10 ký tự)"),
        validators=[
            DataRequired(_l("Vui lòng nhập mật khẩu.")),
            Length(min=accounts.MIN_PASSWORD_LENGTH, max=200),
        ],
    )


def _officer_form() -> OfficerForm:
    form = OfficerForm()
    form.unit.choices = options([("", "–"), *_scope_unit_pairs()])
    return form


@bp.get("/accounts")
@require_admin
def officers() -> ResponseReturnValue:
    return _officers_page(_officer_form())


def _officers_page(form: OfficerForm, status: int = 200) -> ResponseReturnValue:
    rows = accounts.all_officers(get_session())
    return render_template("officer/accounts.html", rows=rows, form=form), status


@bp.post("/accounts")
@require_admin
def create_account() -> ResponseReturnValue:
    form = _officer_form()
    if not form.validate_on_submit():
        return _officers_page(form, 400)
    db = get_session()
    unit = tree().by_code.get(form.unit.data) if form.unit.data else None
    try:
        made = accounts.create_officer(
            db,
            username=form.username.data,
            password=form.password.data,
            role=form.role.data,
            full_name=form.full_name.data or "",
            unit=unit,
        )
    except accounts.AccountError as error:
        form.username.errors = [str(error)]
        return _officers_page(form, 400)
    accounts.record(
        db,
        "officer_created",
        officer=current_officer(),
        target=made.username,
        role=made.role,
        unit=unit.code if unit else None,
    )
    db.commit()
    flash(_("Đã tạo tài khoản %(name)s.", name=made.username), "notice")
    return redirect(url_for("officer.officers"))


def _officer_or_404(officer_id: int) -> Officer:
    row = get_session().get(Officer, officer_id)
    if row is None:
        friendly_abort(404, _("Không tìm thấy tài khoản"), _("Không có tài khoản này."))
    return row


@bp.post("/accounts/<int:officer_id>/deactivate")
@require_admin
def deactivate_account(officer_id: int) -> ResponseReturnValue:
    db = get_session()
    row = _officer_or_404(officer_id)
    if row.id == current_officer().id:
        friendly_abort(409, _("Không thể tự khóa"), _("Không thể khóa tài khoản đang dùng."))
    row.active = False
    accounts.end_sessions(row)
    accounts.record(db, "officer_deactivated", officer=current_officer(), target=row.username)
    db.commit()
    flash(_("Đã khóa tài khoản %(name)s.", name=row.username), "notice")
    return redirect(url_for("officer.officers"))


@bp.post("/accounts/<int:officer_id>/sign-out")
@require_admin
def end_account_sessions(officer_id: int) -> ResponseReturnValue:
    """Sign an officer out on every device (a lost phone, a shared computer)."""
    db = get_session()
    row = _officer_or_404(officer_id)
    accounts.end_sessions(row)
    accounts.record(db, "sessions_ended", officer=current_officer(), target=row.username)
    db.commit()
    flash(_("Đã đăng xuất tài khoản %(name)s trên mọi thiết bị.", name=row.username), "notice")
    return redirect(url_for("officer.officers"))


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Mật khẩu hiện tại"), validators=[DataRequired(_l("Vui lòng nhập mật khẩu."))]
    )
    new = PasswordField(
        _l("Mật khẩu mới (ít nhất 10 ký tự)"),
        validators=[
            DataRequired(_l("Vui lòng nhập mật khẩu.")),
            Length(
                min=accounts.MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Mật khẩu cần ít nhất 10 ký tự."),
            ),
        ],
    )


@bp.route("/password", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    form = PasswordForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("officer/password.html", form=form), (
            200 if request.method == "GET" else 400
        )
    officer = current_officer()
    if not accounts.check_password(officer, form.current.data):
        form.current.errors = [_("Mật khẩu hiện tại không đúng.")]
        return render_template("officer/password.html", form=form), 400
    db = get_session()
    accounts.set_password(officer, form.new.data)
    accounts.record(db, "password_changed", officer=officer, target=officer.username)
    db.commit()
    flash(_("Đã đổi mật khẩu. Vui lòng đăng nhập lại."), "notice")
    return redirect(url_for("officer.sign_in"))


# -- API tokens (administrators) --------------------------------------------------------------


class TokenForm(FlaskForm):
    name = StringField(
        _l("Tên (hệ thống nào dùng khóa)"),
        validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=200)],
    )
    # No default: a key that reads every unit is a choice made on purpose ("*"), never the
    # value of an untouched select.
    unit = SelectField(
        _l("Phạm vi đơn vị"),
        choices=[],
        validators=[DataRequired(_l("Vui lòng chọn phạm vi đơn vị của khóa."))],
    )
    # The one-stop system's writes (invitations, dossier events); a token always reads.
    scopes = SelectMultipleField(
        _l("Quyền ghi (hệ thống một cửa)"),
        choices=[],
        validators=[Optional()],
        option_widget=CheckboxInput(),
    )


#: The select value of "every unit" (an empty value means nothing was chosen).
EVERY_UNIT = "*"


def _token_form() -> TokenForm:
    form = TokenForm()
    form.unit.choices = options(
        [("", _("— Chọn đơn vị —")), *_scope_unit_pairs(), (EVERY_UNIT, _("Mọi đơn vị"))]
    )
    form.scopes.choices = options(
        [
            ("invitations:write", _("Tạo lời mời khảo sát cho hồ sơ")),
            ("dossiers:write", _("Gửi sự kiện hồ sơ, phản ánh kiến nghị")),
        ]
    )
    return form


@bp.get("/api-tokens")
@require_admin
def api_tokens() -> ResponseReturnValue:
    return _tokens_page(_token_form())


def _tokens_page(
    form: TokenForm, secret: str | None = None, status: int = 200
) -> ResponseReturnValue:
    rows = accounts.all_api_tokens(get_session())
    return render_template("officer/api_tokens.html", rows=rows, form=form, secret=secret), status


@bp.post("/api-tokens")
@require_admin
def issue_api_token() -> ResponseReturnValue:
    form = _token_form()
    if not form.validate_on_submit():
        return _tokens_page(form, status=400)
    db = get_session()
    unit = unit_or_abort(form.unit.data) if form.unit.data != EVERY_UNIT else None
    row, secret = accounts.issue_token(
        db,
        name=form.name.data,
        unit=unit,
        created_by=current_officer(),
        scopes=form.scopes.data or (),
    )
    accounts.record(
        db,
        "api_token_issued",
        officer=current_officer(),
        target=row.name,
        token=row.prefix,
        unit=unit.code if unit else None,
        scopes=row.scopes,
    )
    db.commit()
    return _tokens_page(_token_form(), secret=secret)


@bp.post("/api-tokens/<int:token_id>/revoke")
@require_admin
def revoke_api_token(token_id: int) -> ResponseReturnValue:
    db = get_session()
    row = db.get(ApiToken, token_id)
    if row is None:
        friendly_abort(404, _("Không tìm thấy khóa"), _("Không có khóa API này."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        accounts.record(
            db, "api_token_revoked", officer=current_officer(), target=row.name, token=row.prefix
        )
        db.commit()
    flash(_("Đã thu hồi khóa API."), "notice")
    return redirect(url_for("officer.api_tokens"))


# -- the audit log (administrators) -----------------------------------------------------------


@bp.get("/audit")
@require_admin
def audit_log() -> ResponseReturnValue:
    page = page_number()
    action = request.args.get("action", "").strip()[:40]
    db = get_session()
    listed = accounts.audit_page(db, action, page)
    rows, total = [row[0] for row in listed.rows], listed.total
    actions = accounts.audit_actions(db)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "officer/audit.html",
        rows=rows,
        total=total,
        page=page,
        pages=listed.pages,
        args=args,
        actions=actions,
        action=action,
    )
