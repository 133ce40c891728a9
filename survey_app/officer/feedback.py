"""Citizens' comments and their handling (SIPAS element PA), and the integrity review of
flagged responses (keep or exclude, with who and when)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..db import get_session
from ..errors import friendly_abort
from ..models import (
    DECISIONS,
    Comment,
    CommentFollowUp,
    Desk,
    Response,
    ResponseReview,
    Unit,
    utcnow,
)
from ..security.redirects import safe_next
from ..services import accounts, episodes, feedback, field_register, periods, score_store
from ..services.feedback import COMMENT_STATUSES, REVIEW_STATUSES, CommentFilter
from ..services.pagination import MAX_PAGE
from . import bp
from .access import current_scope, deny, desk_or_abort, tree, unit_or_abort
from .auth import current_officer, require_edit
from .formatting import options


class FollowUpForm(FlaskForm):
    note = TextAreaField(
        _l("Đã xử lý thế nào"),
        validators=[DataRequired(_l("Vui lòng ghi cách đã xử lý.")), Length(max=1000)],
    )


class ReviewForm(FlaskForm):
    decision = RadioField(
        _l("Quyết định"),
        choices=options([("keep", _l("Giữ phiếu")), ("exclude", _l("Loại khỏi chỉ số"))]),
        validators=[DataRequired(_l("Vui lòng chọn giữ hoặc loại."))],
    )
    note = TextAreaField(_l("Lý do"), validators=[Length(max=1000)])


def page_number() -> int:
    """The ``page`` asked for in the query string (from 1), or a 400 page."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not raw.isascii() or len(raw) > 9 or not 1 <= int(raw) <= MAX_PAGE:
        friendly_abort(400, _("Trang không hợp lệ"), _("Số trang phải từ 1 đến 10000."))
    return int(raw)


def _filter_units() -> tuple[set[int] | None, Unit | None, Desk | None]:
    """The units asked for (a unit's whole subtree, or a desk), within the officer's scope."""
    scope = current_scope()
    desk = desk_or_abort(request.args["desk"]) if request.args.get("desk") else None
    unit = unit_or_abort(request.args["unit"]) if request.args.get("unit") else None
    if unit is not None:
        return tree().subtree_ids(unit.id), unit, desk
    return (set(scope.unit_ids) if scope.unit_ids is not None else None), None, desk


def _local_day(name: str) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        friendly_abort(400, _("Ngày không hợp lệ"), _("Ngày phải có dạng 2026-05-31."))
    if not periods.FIRST_YEAR <= day.year <= periods.LAST_YEAR:
        friendly_abort(
            400,
            _("Ngày không hợp lệ"),
            _(
                "Ngày phải trong các năm %(first)s–%(last)s.",
                first=periods.FIRST_YEAR,
                last=periods.LAST_YEAR,
            ),
        )
    return day.replace(tzinfo=ZoneInfo(current_app.config["TIME_ZONE"]))


def _comment_filter(unit_ids: set[int] | None, desk: Desk | None) -> CommentFilter:
    status = request.args.get("status", "all")
    if status not in COMMENT_STATUSES:
        friendly_abort(
            400, _("Bộ lọc không hợp lệ"), _("Trạng thái phải là open, handled hoặc all.")
        )
    return CommentFilter(
        unit_ids=unit_ids,
        desk_id=desk.id if desk is not None else None,
        status=status,
        very_dissatisfied=bool(request.args.get("very_dissatisfied")),
        text=request.args.get("q", "").strip()[:100],
        start=_local_day("from"),
        end=_local_day("to"),
    )


@bp.get("/comments")
def comments() -> ResponseReturnValue:
    unit_ids, unit, desk = _filter_units()
    page = page_number()
    wanted = _comment_filter(unit_ids, desk)
    db = get_session()
    listed = feedback.comments_page(db, wanted, page)
    rows, total = listed.rows, listed.shown_total
    ids = [r.Response.id for r in rows]
    very = feedback.very_dissatisfied_among(db, ids)
    overall = feedback.answers_to(db, ids, "HL")
    desks = field_register.desks_by_id(db, {r.Response.desk_id for r in rows}) if rows else {}
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "officer/comments.html",
        rows=rows,
        very=very,
        overall=overall,
        desks=desks,
        units=tree().units,
        total=total,
        page=page,
        pages=listed.pages,
        args=args,
        unit=unit,
        desk=desk,
        form=FollowUpForm(),
        scope_units=_scope_units(),
    )


def _scope_units() -> list[Unit]:
    scope = current_scope()
    return [u for u in tree().units.values() if scope.allows(u.id)]


def _response_in_scope(response_id: int) -> Response:
    response = get_session().get(Response, response_id)
    if response is None:
        friendly_abort(404, _("Không tìm thấy phiếu"), _("Không có phiếu trả lời này."))
    if not current_scope().allows(response.unit_id):
        deny(f"response {response_id}")
    return response


def _back(default: str) -> ResponseReturnValue:
    return redirect(safe_next(request.form.get("next")) or default)


@bp.post("/comments/<int:response_id>/handle")
@require_edit
def handle_comment(response_id: int) -> ResponseReturnValue:
    response = _response_in_scope(response_id)
    db = get_session()
    if db.get(Comment, response.id) is None:
        friendly_abort(404, _("Không tìm thấy ý kiến"), _("Phiếu này không có ý kiến."))
    form = FollowUpForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return _back(url_for("officer.comments"))
    officer = current_officer()
    follow_up = db.get(CommentFollowUp, response.id)
    if follow_up is None:
        follow_up = CommentFollowUp(response_id=response.id)
        db.add(follow_up)
    follow_up.note = form.note.data.strip()
    follow_up.officer_id = officer.id
    follow_up.handled_at = utcnow()
    accounts.record(db, "comment_handled", officer=officer, target=f"response {response.id}")
    db.commit()
    flash(_("Đã ghi nhận xử lý ý kiến."), "notice")
    return _back(url_for("officer.comments"))


# -- integrity review ------------------------------------------------------------------------


def flag_reasons() -> dict[str, str]:
    """Why a response was flagged, by the flags the survey and the kiosk store."""
    return {
        "too_fast": _("trả lời quá nhanh so với thời gian tối thiểu"),
        "over_rate": _("nhiều phiếu từ cùng một kiosk hơn mức cho phép trong một giờ"),
        "outside_hours": _("kiosk nhận phiếu ngoài giờ làm việc của quầy"),
        "burst": _("quầy nhận phiếu dồn dập, vượt xa mức thường thấy vào giờ này trong tuần"),
        "batch": _("nhiều phiếu được mở cùng lúc rồi gửi cùng lúc"),
        "same_source": _("nhiều phiếu trong ngày từ cùng một nguồn (địa chỉ mạng và trình duyệt)"),
        "same_answers": _(
            "nhiều phiếu giống hệt hoặc gần giống nhau tại quầy trong thời gian ngắn"
        ),
        "arrival_rate": _("kiosk gửi lên nhiều phiếu hơn mức cho phép trong một giờ"),
        "claimed_time": _(
            "thời điểm trả lời kiosk khai không khớp với thứ tự gửi hoặc nhịp kết nối"
        ),
        "excluded_by_review": _("đã bị loại khi rà soát"),
    }


@bp.get("/review")
def review() -> ResponseReturnValue:
    unit_ids, unit, desk = _filter_units()
    page = page_number()
    status = request.args.get("status", "undecided")
    if status not in REVIEW_STATUSES:
        friendly_abort(
            400, _("Bộ lọc không hợp lệ"), _("Trạng thái phải là undecided, decided hoặc all.")
        )
    desk_id = desk.id if desk is not None else None
    config = current_app.config
    grouped = episodes.episodes(
        get_session(),
        unit_ids,
        desk_id,
        gap=timedelta(minutes=int(config["INTEGRITY_EPISODE_GAP_MINUTES"])),
        undecided_only=status == "undecided",
        score_flagged=str(config["SCORE_FLAGGED"]),
    )
    listed = feedback.review_page(get_session(), unit_ids, desk_id, status, page)
    rows, total = listed.rows, listed.shown_total
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "officer/review.html",
        rows=rows,
        total=total,
        page=page,
        pages=listed.pages,
        args=args,
        status=status,
        reasons=flag_reasons(),
        units=tree().units,
        form=ReviewForm(),
        unit=unit,
        scope_units=_scope_units(),
        episodes=grouped[: episodes.MAX_SCORED],
        more_episodes=max(0, len(grouped) - episodes.MAX_SCORED),
        desks=field_register.desks_by_id(get_session(), {e.desk_id for e in grouped}),
        score_flagged=config["SCORE_FLAGGED"],
    )


@bp.post("/review/episode")
@require_edit
def decide_episode() -> ResponseReturnValue:
    """One decision (keep or exclude) for every flagged response of an episode, audited once."""
    form = ReviewForm()
    if not form.validate_on_submit() or form.decision.data not in DECISIONS:
        flash(_("Vui lòng chọn giữ hoặc loại."), "error")
        return _back(url_for("officer.review"))
    try:
        desk_id, start, end = episodes.parse_key(request.form.get("episode", ""))
    except ValueError:
        friendly_abort(400, _("Đợt không hợp lệ"), _("Không đọc được đợt phiếu cần rà soát."))
    db = get_session()
    desk = db.get(Desk, desk_id)
    if desk is None:
        friendly_abort(404, _("Không tìm thấy quầy"), _("Không có quầy này."))
    if not current_scope().allows(desk.unit_id):
        deny(f"desk {desk_id}")
    decided = episodes.decide(
        db,
        current_officer(),
        desk_id,
        start,
        end,
        form.decision.data,
        (form.note.data or "").strip(),
    )
    db.commit()
    flash(_("Đã ghi quyết định cho %(n)s phiếu của đợt.", n=decided), "notice")
    return _back(url_for("officer.review"))


@bp.post("/review/<int:response_id>")
@require_edit
def decide(response_id: int) -> ResponseReturnValue:
    response = _response_in_scope(response_id)
    form = ReviewForm()
    if not form.validate_on_submit() or form.decision.data not in DECISIONS:
        flash(_("Vui lòng chọn giữ hoặc loại."), "error")
        return _back(url_for("officer.review"))
    if not response.flags:
        friendly_abort(409, _("Phiếu không bị gắn cờ"), _("Chỉ rà soát các phiếu bị gắn cờ."))
    db = get_session()
    officer = current_officer()
    row = db.get(ResponseReview, response.id)
    before = row.decision if row is not None else None
    if row is None:
        row = ResponseReview(response_id=response.id)
        db.add(row)
    row.decision = form.decision.data
    row.note = (form.note.data or "").strip()
    row.officer_id = officer.id
    row.decided_at = utcnow()
    score_store.review_changed(db, response.id, before, row.decision)
    accounts.record(
        db,
        "review_decision",
        officer=officer,
        target=f"response {response.id}",
        decision=row.decision,
        before=before,
    )
    db.commit()
    flash(_("Đã ghi quyết định rà soát."), "notice")
    return _back(url_for("officer.review"))
