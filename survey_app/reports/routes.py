"""Views of the reports: check the officer's scope, log the export, send the file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Response,
    current_app,
    redirect,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..citizen.routes import public_survey_url
from ..db import get_session
from ..errors import friendly_abort
from ..i18n import current_language
from ..models import Desk, Unit
from ..officer.access import (
    desk_or_abort,
    period_from_args,
    tree,
    unit_or_abort,
    view_from_args,
)
from ..officer.auth import current_officer, guard
from ..officer.dashboard import scorecard_for
from ..officer.decision766 import decision766_board
from ..services import (
    accounts,
    desk_scores,
    display,
    feedback,
    field_register,
    response_csv,
    unit_history,
)
from . import bp, posters, xlsx
from . import csv as csv_report
from . import decision766 as decision766_report
from . import pdf as pdf_report_builder

guard(bp)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_COMMENTS = 5000


def _now_text() -> str:
    """Now in local time with the zone named: "02/12/2026 17:45 (giờ Việt Nam (UTC+7))"."""
    zone = current_app.config["TIME_ZONE"]
    now = datetime.now(ZoneInfo(zone)).strftime("%d/%m/%Y %H:%M")
    return f"{now}, {display.zone_label(zone, current_language())}"


def _log(action: str, target: str, **detail: Any) -> None:
    db = get_session()
    accounts.record(db, action, officer=current_officer(), target=target, **detail)
    db.commit()


def _unit_order(unit: Unit) -> list[Unit]:
    """The unit, then every unit below it in tree order."""
    t = tree()
    out: list[Unit] = []

    def walk(u: Unit) -> None:
        out.append(u)
        for child in t.children.get(u.id, []):
            walk(child)

    walk(unit)
    return out


@bp.get("/units/<code>.xlsx")
def xlsx_report(code: str) -> ResponseReturnValue:
    card = scorecard_for(code)
    units = _unit_order(card.unit)
    db = get_session()
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    start, end = card.period.utc_bounds(current_app.config["TIME_ZONE"])
    ids = set(unit_history.unit_ids_for(tree(), card.unit.id, card.view))
    rows = feedback.comments_in_period(db, ids, start, end, MAX_COMMENTS)
    very = feedback.very_dissatisfied_among(db, [r[1].id for r in rows])
    desks = {d.id: d for d in field_register.desks_of(db, ids)}
    comments = [
        xlsx.CommentRow(
            r[1].submitted_at.astimezone(zone),
            tree().units[r[1].unit_id].name,
            desks[r[1].desk_id].name if r[1].desk_id in desks else "",
            r[0],
            r[1].id in very,
            r[2],
        )
        for r in rows
    ]
    data = xlsx.build_workbook(
        card,
        unit_names={u.code: u.name for u in units},
        unit_order=[u.code for u in units],
        desk_names={d.code: d.name for d in desks.values()},
        comments=comments,
        generated_at=_now_text(),
        desk_table=desk_scores.desk_scores(
            db,
            tree(),
            card.unit,
            card.period,
            card.questionnaire,
            min_n=card.min_n,
            zone=current_app.config["TIME_ZONE"],
        ),
        zone_text=display.zone_label(current_app.config["TIME_ZONE"], current_language()),
    )
    data = decision766_report.add_sheet(data, decision766_board(card.unit, card.period))
    name = f"sipas-{card.unit.code}-{card.period.label}.xlsx"
    _log("export_xlsx", card.unit.code, period=card.period.label, file=name)
    return send_file(_bytes(data), mimetype=XLSX, as_attachment=True, download_name=name)


def _bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


@bp.get("/units/<code>.pdf")
def pdf_report(code: str) -> ResponseReturnValue:
    card = scorecard_for(code)
    kids = [
        u
        for u in tree().children.get(card.unit.id, [])
        if u.valid_to is None or card.view == "as_it_was"
    ]
    data = pdf_report_builder.build_summary(
        card,
        unit_names={u.code: u.name for u in _unit_order(card.unit)},
        children=[u.code for u in kids],
        generated_at=_now_text(),
        sections=[decision766_report.pdf_section(decision766_board(card.unit, card.period))],
    )
    name = f"sipas-{card.unit.code}-{card.period.label}.pdf"
    _log("export_pdf", card.unit.code, period=card.period.label, file=name)
    return send_file(
        _bytes(data), mimetype="application/pdf", as_attachment=True, download_name=name
    )


@bp.get("/units/<code>/responses.csv")
def responses_csv(code: str) -> ResponseReturnValue:
    unit = unit_or_abort(code)
    zone = current_app.config["TIME_ZONE"]
    start = end = None
    label = "all"
    if request.args.get("period"):
        period = period_from_args()
        start, end = period.utc_bounds(zone)
        label = period.label
    # Responses keep the unit they were given at; today's view adds the merged units' rows.
    ids = set(unit_history.unit_ids_for(tree(), unit.id, view_from_args()))
    count, _highest = csv_report.count_in_scope(get_session(), unit_ids=ids, start=start, end=end)
    if count > int(current_app.config["CSV_STREAM_MAX_ROWS"]):
        # Too large to stream within a worker's timeout: built in the background instead.
        period_arg = label if start is not None else None
        return redirect(url_for("reports.unit_exports", code=unit.code, period=period_arg), 303)
    style = response_csv.CsvStyle.from_choice(request.args.get("format"), zone, current_language())
    kind = "labels" if style.labels else "codes"
    name = f"sipas-responses-{unit.code}-{label}{'-nhan' if style.labels else ''}.csv"
    _log("export_csv", unit.code, period=label, file=name, format=kind)

    def chunks() -> Iterator[bytes]:
        # The session is taken inside the streamed context, so its teardown closes it: the
        # view's own session is closed as soon as the view returns.
        yield from csv_report.stream_responses(
            get_session(), unit_ids=ids, start=start, end=end, style=style
        )

    response = Response(stream_with_context(chunks()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _size() -> str:
    size = request.args.get("size", "A4").upper()
    if size not in posters.SIZES:
        friendly_abort(400, _("Khổ giấy không hợp lệ"), _("Khổ giấy là A4 hoặc A5."))
    return size


def poster_texts() -> posters.PosterTexts:
    return posters.PosterTexts(
        invitation=_("Mời Ông/Bà quét mã QR để đánh giá sự phục vụ của chúng tôi"),
        detail=_(
            "Khảo sát ẩn danh, khoảng 1 phút. Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn."
        ),
        no_scan=_("Không quét được? Mở địa chỉ dưới đây và nhập mã quầy"),
        desk_code=_("Mã quầy"),
        footer=_("Chỉ số hài lòng về sự phục vụ hành chính (SIPAS)"),
    )


def _poster_desk(desk: Desk) -> posters.PosterDesk:
    return posters.PosterDesk(desk.code, desk.name, desk.unit.name, public_survey_url(desk.code))


@bp.get("/posters/<code>.pdf")
def desk_poster(code: str) -> ResponseReturnValue:
    desk = desk_or_abort(code)
    size = _size()
    data = posters.build_posters([_poster_desk(desk)], size, poster_texts())
    name = f"sipas-poster-{desk.code}-{size}.pdf"
    _log("export_posters", desk.code, size=size, count=1)
    return send_file(
        _bytes(data), mimetype="application/pdf", as_attachment=True, download_name=name
    )


@bp.get("/posters/units/<code>.pdf")
def unit_posters(code: str) -> ResponseReturnValue:
    unit = unit_or_abort(code)
    size = _size()
    order = {u.id: k for k, u in enumerate(_unit_order(unit))}
    desks = sorted(
        field_register.desks_of(get_session(), order, active_only=True),
        key=lambda d: (order[d.unit_id], d.code),
    )
    if not desks:
        friendly_abort(404, _("Chưa có quầy"), _("Đơn vị này chưa có quầy nào đang hoạt động."))
    data = posters.build_posters([_poster_desk(d) for d in desks], size, poster_texts())
    name = f"sipas-posters-{unit.code}-{size}.pdf"
    _log("export_posters", unit.code, size=size, count=len(desks))
    return send_file(
        _bytes(data), mimetype="application/pdf", as_attachment=True, download_name=name
    )
