"""Routes of the citizen survey: show the form, store it once, thank, and the desk's QR code."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NoReturn

from flask import (
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as session_cookie
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from questionnaires import Questionnaire

from ..db import get_database, get_session
from ..errors import error_page, friendly_abort
from ..i18n import current_language
from ..models import Desk, Service
from ..security.limits import (
    desk_key,
    limiter,
    limits_off,
    survey_per_address,
    survey_per_desk,
)
from ..services import field_register, intake, invitations
from ..services.integrity import Circumstances, source_digest
from ..services.qr import qr_png, qr_svg
from ..services.questionnaire_store import PublishedVersion, current_version, version_by_id
from ..services.response_store import invitation_used, response_exists
from ..web import csrf, public_base_url
from . import bp
from .form_token import FormToken
from .messages import problem_message

DESK_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,15}$")
#: Form fields that are not answers.
CONTROL_FIELDS = {"csrf_token", "form_token", "t"}


# -- loaders ------------------------------------------------------------------------------


def get_desk_or_404(code: str) -> Desk:
    """The active desk with this public code (any letter case), or a friendly 404 page."""
    normalised = code.strip().upper()
    desk = None
    if DESK_CODE.match(normalised):
        desk = field_register.active_desk(get_session(), normalised)
    if desk is None:
        no_such_desk(code)
    return desk


def no_such_desk(code: str) -> NoReturn:
    """The friendly 404 page for a desk code that is unknown or no longer takes answers."""
    friendly_abort(
        404,
        _("Không tìm thấy quầy khảo sát"),
        _(
            "Mã quầy “%(code)s” không có hoặc quầy đã ngừng nhận đánh giá. Vui lòng kiểm "
            "tra lại mã in dưới mã QR tại quầy.",
            code=code[:32],
        ),
        show_code_form=True,
    )


def public_survey_url(desk_code: str, token: str | None = None) -> str:
    """The absolute survey address printed in QR codes (from the configured public base URL)."""
    url = f"{public_base_url()}/s/{desk_code}"
    return f"{url}?t={token}" if token else url


# -- invitations --------------------------------------------------------------------------


def _invitation_for(desk: Desk, token: str | None) -> invitations.Invitation | None:
    """The valid invitation in ``token`` for this desk, or a kind error page explaining why not."""
    if not token:
        return None
    secret = current_app.config["SECRET_KEY"]
    survey_link = url_for("citizen.survey", code=desk.code)
    try:
        invitation = invitations.verify(secret, token)
        if invitation.desk_code != desk.code:
            raise invitations.InvitationError("invalid")
    except invitations.InvitationError as error:
        if error.kind == "expired":
            friendly_abort(
                410,
                _("Liên kết khảo sát đã hết hạn"),
                _(
                    "Liên kết in trên phiếu hẹn này đã quá hạn. Ông/Bà vẫn có thể đánh giá "
                    "sự phục vụ của quầy bằng phiếu khảo sát chung."
                ),
                link=survey_link,
            )
        friendly_abort(
            400,
            _("Liên kết khảo sát không hợp lệ"),
            _(
                "Liên kết này bị sai hoặc không đầy đủ. Ông/Bà vẫn có thể đánh giá sự phục vụ "
                "của quầy bằng phiếu khảo sát chung."
            ),
            link=survey_link,
        )
    return invitation


def _already_answered_page(desk: Desk) -> Response:
    return error_page(
        409,
        _("Hồ sơ này đã được đánh giá"),
        _(
            "Cảm ơn Ông/Bà! Ý kiến về hồ sơ này đã được ghi nhận. Mỗi hồ sơ chỉ được đánh giá "
            "một lần."
        ),
        unit_name=desk.unit.name,
    )


# -- the form -----------------------------------------------------------------------------


@dataclass
class FormState:
    """What the template needs to draw the form, fresh or with answers and messages."""

    desk: Desk
    version: PublishedVersion
    token: FormToken
    invitation_token: str | None = None
    given: MultiDict[str, str] = field(default_factory=MultiDict)
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None

    @property
    def questionnaire(self) -> Questionnaire:
        return self.version.questionnaire


def _fresh_questions(questionnaire: Questionnaire, lang: str) -> Markup:
    """The questions of an unanswered form: the same for everyone, so rendered once per
    questionnaire and language (the template is most of the cost of showing the form)."""
    cache: dict[tuple[str, str], Markup] = current_app.extensions.setdefault(
        "sipas.fresh_questions", {}
    )
    key = (questionnaire.content_hash, lang)
    if key not in cache:
        cache[key] = Markup(
            render_template(
                "citizen/_questions.html",
                q=questionnaire,
                numbers=question_numbers(questionnaire),
                given=MultiDict(),
                errors={},
                lang=lang,
            )
        )
    return cache[key]


def _render_form(state: FormState, status: int = 200) -> Response:
    lang = current_language()
    fresh = not state.given and not state.errors
    response = make_response(
        render_template(
            "citizen/survey.html",
            questions_html=_fresh_questions(state.questionnaire, lang) if fresh else None,
            desk=state.desk,
            unit=state.desk.unit,
            q=state.questionnaire,
            numbers=question_numbers(state.questionnaire),
            form_token=state.token.value,
            invitation_token=state.invitation_token,
            given=state.given,
            errors=state.errors,
            notice=state.notice,
            lang=lang,
        ),
        status,
    )
    # Private and revalidated, not no-store: the back button must bring back this very form
    # (same submission id), so that submitting it again is recognised as a repeat.
    response.headers["Cache-Control"] = "private, max-age=0"
    response.vary.add("Cookie")
    return response


def question_numbers(questionnaire: Questionnaire) -> dict[str, int]:
    """The number shown before each question (the comment box is not numbered)."""
    choices = [code for code, item in questionnaire.items.items() if item.type != "text"]
    return {code: number for number, code in enumerate(choices, start=1)}


# -- a person who goes back after sending ------------------------------------------------------

ANSWERED_KEY = "answered"


def _remember_answered(desk_code: str) -> None:
    """Note in the (signed) session cookie that this browser has just answered at this desk."""
    now = datetime.now(UTC).timestamp()
    window = current_app.config["SURVEY_REPEAT_WINDOW"]
    answered = {
        code: at for code, at in session_cookie.get(ANSWERED_KEY, {}).items() if now - at < window
    }
    answered[desk_code] = now
    session_cookie[ANSWERED_KEY] = answered


def _answered_recently(desk: Desk) -> datetime | None:
    at = session_cookie.get(ANSWERED_KEY, {}).get(desk.code)
    if (
        at is None
        or datetime.now(UTC).timestamp() - at > current_app.config["SURVEY_REPEAT_WINDOW"]
    ):
        return None
    return datetime.fromtimestamp(at, UTC)


@bp.get("/s/<code>")
def survey(code: str) -> Response:
    desk = get_desk_or_404(code)
    token = request.args.get("t")
    # Back (or reopen) right after sending: say so, rather than count the same person twice.
    # A new form is one tap away, for a second person sharing the phone.
    answered_at = None if token or request.args.get("again") else _answered_recently(desk)
    if answered_at is not None:
        response = make_response(
            render_template("citizen/answered.html", desk=desk, unit=desk.unit, at=answered_at)
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    invitation = _invitation_for(desk, token)
    session = get_session()
    if invitation is not None:
        digest = invitations.dossier_digest(
            current_app.config["SECRET_KEY"], desk.code, invitation.dossier
        )
        if invitation_used(session, desk, digest):
            return _already_answered_page(desk)
    version = current_version(session, desk.questionnaire)
    session.commit()  # the version row, if this was its first use
    return _render_form(
        FormState(desk, version, FormToken.issue(version.id, desk.code, token), token)
    )


@bp.post("/s/<code>")
@csrf.exempt  # checked below, so that a stale page keeps its answers instead of losing them
@limiter.limit(survey_per_address, exempt_when=limits_off)
@limiter.limit(survey_per_desk, key_func=desk_key, exempt_when=limits_off)
def submit(code: str) -> ResponseReturnValue:
    # The usual case, a good form for an active desk, never loads the desk: the statement that
    # stores the response checks the desk. Every other outcome loads it to draw its page.
    desk_code = code.strip().upper()
    if not DESK_CODE.match(desk_code):
        no_such_desk(code)
    session = get_session()
    form = request.form
    invitation_token = form.get("t") or None
    invitation = None
    invited_desk = None
    if invitation_token:
        invited_desk = get_desk_or_404(code)
        invitation = _invitation_for(invited_desk, invitation_token)

    token = FormToken.read(form.get("form_token", ""))
    version = version_by_id(session, token.version_id) if token else None
    if token is None or version is None:
        # A garbled or day-old page: show the current form again with the answers kept.
        desk = get_desk_or_404(code)
        version = current_version(session, desk.questionnaire)
        session.commit()
        fresh = FormToken.issue(version.id, desk.code, invitation_token)
        state = FormState(desk, version, fresh, invitation_token, form)
        state.notice = _(
            "Trang khảo sát đã mở quá lâu hoặc không còn hợp lệ. Các câu trả lời vẫn được giữ "
            "nguyên, vui lòng kiểm tra rồi bấm Gửi đánh giá lần nữa."
        )
        return _render_form(state, 400)

    if not token.issued_for(desk_code, invitation_token):
        _other_desk_form(code)

    try:
        csrf.protect()
    except CSRFError:
        state = FormState(get_desk_or_404(code), version, token, invitation_token, form)
        state.notice = _(
            "Phiên làm việc đã hết hạn. Các câu trả lời vẫn được giữ nguyên, vui lòng bấm Gửi "
            "đánh giá lần nữa."
        )
        return _render_form(state, 400)

    questionnaire = version.questionnaire
    raw = {
        key: (
            form.getlist(key)
            if _is_multi(questionnaire, key) or len(form.getlist(key)) > 1
            else form.get(key)
        )
        for key in form
        if key not in CONTROL_FIELDS
    }
    try:
        checked = intake.check(version, raw)
    except intake.InvalidAnswers as invalid:
        state = FormState(get_desk_or_404(code), version, token, invitation_token, form)
        items = questionnaire.items
        problems = invalid.checked.problems
        state.errors = {p.item: problem_message(p, items.get(p.item)) for p in problems}
        unknown = [p for p in problems if p.kind == "unknown_item"]
        if unknown:
            state.notice = problem_message(unknown[0], None)
            return _render_form(state, 400)
        return _render_form(state, 422)

    digest = None
    if invitation is not None and invited_desk is not None:
        desk = invited_desk
        digest = invitations.dossier_digest(
            current_app.config["SECRET_KEY"], desk.code, invitation.dossier
        )
        if invitation_used(session, desk, digest):
            if response_exists(session, token.submission_id):  # this very form, sent again
                _remember_answered(desk.code)
                return redirect(url_for("citizen.thanks", code=desk.code), 303)
            return _already_answered_page(desk)

    now = datetime.now(UTC)
    duration = max(0, int((now - token.shown_at).total_seconds()))
    received = intake.Received(
        uuid=token.submission_id,
        checked=checked,
        channel="qr",
        circumstances=Circumstances(duration, current_app.config["SURVEY_MIN_SECONDS"]),
        language=current_language(),
        service=_service(invitation),
        invitation_digest=digest,
        source_digest=source_digest(
            current_app.config["SECRET_KEY"],
            request.remote_addr,
            request.headers.get("User-Agent"),
            now.date(),
        ),
    )
    try:
        stored = intake.store(intake.ByDeskCode(get_database(), desk_code), received)
    except IntegrityError:
        # The submission id is stored already: a repeat (double tap, refresh, back then send),
        # thanked again. Otherwise the dossier was answered a moment ago by another request.
        if not response_exists(session, token.submission_id):
            return _already_answered_page(get_desk_or_404(code))
    else:
        if stored is None:  # no such active desk (or it closed while the form was open)
            no_such_desk(code)
    _remember_answered(desk_code)
    return redirect(url_for("citizen.thanks", code=desk_code), 303)


def _other_desk_form(code: str) -> NoReturn:
    """A form issued for another desk (or invitation) posted here: refused, kindly."""
    friendly_abort(
        400,
        _("Phiếu khảo sát không thuộc quầy này"),
        _(
            "Phiếu này được mở cho một quầy hoặc một hồ sơ khác nên không thể gửi tới đây. "
            "Vui lòng mở phiếu khảo sát của quầy bằng mã QR tại quầy."
        ),
        link=url_for("citizen.survey", code=code.strip().upper()[:16]),
    )


def _is_multi(questionnaire: Questionnaire, key: str) -> bool:
    item = questionnaire.items.get(key)
    return item is not None and item.type == "multi"


def _service(invitation: invitations.Invitation | None) -> Service | None:
    if invitation is None or invitation.service_code is None:
        return None
    return field_register.service_by_code(get_session(), invitation.service_code)


@bp.get("/s/<code>/cam-on")
def thanks(code: str) -> Response:
    desk = get_desk_or_404(code)
    response = make_response(render_template("citizen/thanks.html", desk=desk, unit=desk.unit))
    response.headers["Cache-Control"] = "no-store"
    return response


# -- entry points without a QR code ---------------------------------------------------------


@bp.get("/")
def index() -> str:
    return render_template("citizen/index.html")


@bp.get("/s/")
def find_desk() -> ResponseReturnValue:
    """The "type the desk code" box on the home page (for people who cannot scan)."""
    code = request.args.get("code", "").strip()
    if not code:
        return redirect(url_for("citizen.index"), 303)
    desk = get_desk_or_404(code)
    return redirect(url_for("citizen.survey", code=desk.code), 303)


# -- QR codes -----------------------------------------------------------------------------


@bp.get("/qr/<code>.<any(svg, png):fmt>")
def desk_qr(code: str, fmt: str) -> Response:
    desk = get_desk_or_404(code)
    url = public_survey_url(desk.code)
    if fmt == "svg":
        response = make_response(qr_svg(url))
        response.mimetype = "image/svg+xml"
    else:
        response = make_response(qr_png(url))
        response.mimetype = "image/png"
    response.headers["Cache-Control"] = "public, max-age=3600"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="sipas-{desk.code}.{fmt}"'
    return response


@bp.get("/healthz")
def health() -> Response:
    get_session().execute(text("SELECT 1"))
    return make_response("ok\n", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"})
