"""Downloads of the province's own survey: printable forms (PDF), the drawn sample and the
survey's report (XLSX). The views check the plan's scope, log the export and send the bytes."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from flask import request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..db import get_session
from ..errors import friendly_abort
from ..officer.auth import current_officer
from ..officer.survey import plan_or_abort
from ..services import accounts, sample_plans, survey_report
from . import bp, paper_forms

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _log(action: str, plan_id: int, **detail: Any) -> None:
    db = get_session()
    accounts.record(
        db, action, officer=current_officer(), target=f"sample plan {plan_id}", **detail
    )
    db.commit()


def _number(name: str, default: int | None) -> int | None:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 9:
        friendly_abort(400, _("Số phiếu không hợp lệ"), _("Số phiếu là số nguyên dương."))
    return int(text)


@bp.get("/survey/<int:plan_id>/forms.pdf")
def survey_forms_pdf(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    first = _number("first", 1) or 1
    last = _number("last", first + paper_forms.MAX_COPIES - 1) or first
    if last - first + 1 > paper_forms.MAX_COPIES:
        friendly_abort(
            400,
            _("Quá nhiều phiếu"),
            _(
                "Mỗi tệp in tối đa %(n)s phiếu; hãy chọn khoảng số phiếu nhỏ hơn.",
                n=paper_forms.MAX_COPIES,
            ),
        )
    units = [
        u for u in sample_plans.sample_units(get_session(), plan) if first <= u.form_number <= last
    ]
    data = paper_forms.forms_pdf(plan, units)
    name = f"sipas-phieu-KH{plan.id}-{first:05d}-{last:05d}.pdf"
    _log("export_paper_forms", plan.id, first=first, last=last, count=len(units))
    return send_file(
        io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name
    )


@bp.get("/survey/<int:plan_id>/sample.xlsx")
def survey_sample_xlsx(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    units = sample_plans.sample_units(get_session(), plan)
    table = pd.DataFrame(
        [
            {
                "form_number": sample_plans.form_code(plan.id, u.form_number),
                "frame_id": u.frame_id,
                "stratum": u.stratum,
                "cluster": u.cluster,
                "weight": u.weight,
                "fpc": u.fpc,
            }
            for u in units
        ],
        columns=["form_number", "frame_id", "stratum", "cluster", "weight", "fpc"],
    )
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        sample_plans.strata_frame(plan).to_excel(writer, sheet_name="Tầng", index=False)
        table.to_excel(writer, sheet_name="Mẫu", index=False)
    name = f"sipas-mau-KH{plan.id}.xlsx"
    _log("export_sample", plan.id, count=len(units))
    return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=name)


@bp.get("/survey/<int:plan_id>/report.xlsx")
def survey_report_xlsx(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    report = survey_report.build(get_session(), plan)
    data = survey_report.report_xlsx(report, plan)
    name = f"sipas-bao-cao-KH{plan.id}.xlsx"
    _log("export_survey_report", plan.id, settled=report.settled)
    buffer = io.BytesIO(data)
    return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=name)
