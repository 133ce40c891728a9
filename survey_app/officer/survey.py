"""The province's own survey in the workspace: sample plans, keying paper forms (double entry),
settling differences, importing keyed files and the survey's report page.

Views parse and render; the plan is services/sample_plans.py, keying services/paper_keying.py,
the report services/survey_report.py.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

import questionnaires

from ..db import get_session
from ..errors import friendly_abort
from ..models import SamplePlan
from ..services import accounts, paper_keying, sample_plans, survey_report
from ..services.paper_keying import KeyingRefused
from ..services.sample_plans import PlanError, PlanRequest
from . import bp
from .access import current_scope, deny
from .auth import current_officer, require_edit

#: Uploads here are frames and keyed files, far larger than the app's usual form limit.
MAX_UPLOAD = 64 * 1024 * 1024
#: The differences page posts one box per differing item, for up to a thousand forms.
MAX_SETTLE_PARTS = 20_000


def plan_or_abort(plan_id: int) -> SamplePlan:
    plan = sample_plans.plan_or_none(get_session(), plan_id)
    if plan is None:
        friendly_abort(404, _("Không tìm thấy kế hoạch"), _("Không có kế hoạch khảo sát này."))
    scope = current_scope()
    if not all(scope.allows(s.unit_id) for s in plan.strata):
        deny(f"sample plan {plan_id}")
    return plan


def _log(action: str, plan: SamplePlan | None, **detail: Any) -> None:
    db = get_session()
    target = f"sample plan {plan.id}" if plan is not None else "sample plan"
    accounts.record(db, action, officer=current_officer(), target=target, **detail)


# -- plans -----------------------------------------------------------------------------------


def _plans_page(error: str = "", values: dict[str, str] | None = None, status: int = 200) -> Any:
    scope = current_scope()
    visible = [
        p
        for p in sample_plans.plans(get_session())
        if all(scope.allows(s.unit_id) for s in p.strata)
    ]
    return (
        render_template(
            "officer/survey_plans.html",
            plans=visible,
            error=error,
            values=values or {},
            questionnaires=sample_plans.PAPER_QUESTIONNAIRES,
            form_code=sample_plans.form_code,
        ),
        status,
    )


@bp.get("/survey")
def survey_plans() -> ResponseReturnValue:
    return _plans_page()  # type: ignore[no-any-return]


def _int(values: dict[str, str], name: str, default: int) -> int:
    found = _int_or_none(values, name)
    return default if found is None else found


def _int_or_none(values: dict[str, str], name: str) -> int | None:
    text = values.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise PlanError(_("“%(value)s” không phải số nguyên ≥ 0.", value=text[:20]), rule=name)
    return int(text)


@bp.post("/survey")
@require_edit
def survey_plan_create() -> ResponseReturnValue:
    request.max_content_length = MAX_UPLOAD
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    upload = request.files.get("frame")
    try:
        if upload is None or not upload.filename:
            raise PlanError(_("Hãy chọn tệp khung mẫu (CSV hoặc XLSX)."), rule="no_file")
        frame = sample_plans.read_frame(upload.read(), upload.filename)
        margin_text = values.get("margin", "0.05").replace(",", ".").strip() or "0.05"
        try:
            margin = float(margin_text)
        except ValueError as error:
            raise PlanError(_("Sai số e phải là số (ví dụ 0,05)."), rule="margin") from error
        plan_request = PlanRequest(
            name=values.get("name", "").strip() or upload.filename,
            questionnaire=values.get("questionnaire", "sipas-2023"),
            frame_kind=values.get("frame_kind", "households"),
            stratum_column=values.get("stratum_column", "").strip() or "stratum",
            unit_column=values.get("unit_column", "").strip() or "unit",
            cluster_column=values.get("cluster_column", "").strip() or None,
            rule=values.get("rule", "ministry"),
            margin=margin,
            allocation=values.get("allocation", "required"),
            total=_int_or_none(values, "total"),
            minimum=_int(values, "minimum", 0),
            seed=_int(values, "seed", 1),
            per_cluster=_int(values, "per_cluster", 10),
        )
        db = get_session()
        planned = sample_plans.preview(db, frame, plan_request)
    except PlanError as error:
        return _plans_page(str(error), values, 422)  # type: ignore[no-any-return]
    plan = sample_plans.store(db, planned, current_officer())
    _log("sample_plan_created", plan, total=plan.total, seed=plan.seed)
    db.commit()
    for code, drawn, wanted in planned.shortfalls():
        flash(
            _(
                "Tầng %(code)s: rút được %(drawn)s trên %(wanted)s đơn vị dự kiến (các thôn được "
                "chọn không đủ hộ; tăng số hộ mỗi thôn).",
                code=code,
                drawn=drawn,
                wanted=wanted,
            ),
            "error",
        )
    flash(_("Đã lưu kế hoạch “%(name)s”.", name=plan.name), "ok")
    return redirect(url_for("officer.survey_plan", plan_id=plan.id))


@bp.get("/survey/<int:plan_id>")
def survey_plan(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    db = get_session()
    return render_template(
        "officer/survey_plan.html",
        plan=plan,
        progress=paper_keying.progress(db, plan),
        title=sample_plans.questionnaire_title(plan),
        form_code=sample_plans.form_code,
    )


# -- keying ----------------------------------------------------------------------------------


def _keying_page(
    plan: SamplePlan,
    *,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    questionnaire = questionnaires.get(plan.questionnaire)
    fields = paper_keying.keying_fields(questionnaire)
    sections: list[tuple[str, str, list[paper_keying.KeyField]]] = []
    for f in fields:
        if not sections or sections[-1][0] != f.section:
            sections.append((f.section, f.section_title, []))
        sections[-1][2].append(f)
    return (
        render_template(
            "officer/survey_key.html",
            plan=plan,
            sections=sections,
            fields_json=json.dumps([f.as_json() for f in fields], ensure_ascii=False),
            values=values or {},
            errors=errors or [],
            progress=paper_keying.progress(get_session(), plan),
        ),
        status,
    )


@bp.get("/survey/<int:plan_id>/key")
@require_edit
def survey_key(plan_id: int) -> ResponseReturnValue:
    return _keying_page(plan_or_abort(plan_id))  # type: ignore[no-any-return]


@bp.post("/survey/<int:plan_id>/key")
@require_edit
def survey_key_post(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    number_text = values.pop("form_number", "").strip()
    number = paper_keying.parse_form_number(plan, number_text)
    if number is None:
        return _keying_page(  # type: ignore[no-any-return]
            plan,
            values={"form_number": number_text, **values},
            errors=[_("Số phiếu “%(text)s” không hợp lệ.", text=number_text[:20])],
            status=422,
        )
    db = get_session()
    try:
        outcome = paper_keying.key_form(db, plan, number, current_officer(), values)
    except KeyingRefused as refused:
        db.rollback()
        return _keying_page(  # type: ignore[no-any-return]
            plan,
            values={"form_number": number_text, **values},
            errors=[str(refused)],
            status=409 if refused.rule != "answers" else 422,
        )
    db.commit()
    code = sample_plans.form_code(plan.id, number)
    messages = {
        "first": _(
            "Đã lưu lần nhập thứ nhất của phiếu %(code)s; chờ người thứ hai nhập.", code=code
        ),
        "agreed": _("Phiếu %(code)s: hai lần nhập khớp nhau, phiếu đã được lưu.", code=code),
        "differs": _(
            "Phiếu %(code)s: hai lần nhập khác nhau ở %(items)s; chờ người thứ ba đối chiếu.",
            code=code,
            items=", ".join(outcome.differences),
        ),
    }
    flash(messages[outcome.status], "ok")
    return redirect(url_for("officer.survey_key", plan_id=plan.id))


# -- differences -----------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


@bp.get("/survey/<int:plan_id>/differences")
@require_edit
def survey_differences(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    listed = paper_keying.differences(get_session(), plan)
    return render_template(
        "officer/survey_differences.html",
        plan=plan,
        forms=listed,
        shown=_shown,
        me=current_officer().id,
    )


@bp.post("/survey/<int:plan_id>/differences")
@require_edit
def survey_differences_post(plan_id: int) -> ResponseReturnValue:
    request.max_form_parts = MAX_SETTLE_PARTS
    request.max_content_length = MAX_UPLOAD
    plan = plan_or_abort(plan_id)
    chosen: dict[int, dict[str, str]] = {}
    for key, value in request.form.items():
        # Boxes are named d-<form number>-<item code>; an untouched box means "not decided".
        prefix, _sep, rest = key.partition("-")
        digits, _sep2, item = rest.partition("-")
        if prefix != "d" or not digits.isdigit() or len(digits) > 9 or not item:
            continue
        if value.strip() == "":
            continue
        chosen.setdefault(int(digits), {})[item] = "" if value.strip() == "-" else value
    db = get_session()
    report = paper_keying.settle(db, plan, chosen, current_officer())
    if report.settled:
        _log("paper_forms_settled", plan, forms=len(report.settled))
    db.commit()
    if report.settled:
        flash(_("Đã chốt %(n)s phiếu.", n=len(report.settled)), "ok")
    for number, problems in report.problems.items():
        flash(
            f"{sample_plans.form_code(plan.id, number)}: {'; '.join(problems)}",
            "error",
        )
    return redirect(url_for("officer.survey_differences", plan_id=plan.id))


# -- import ----------------------------------------------------------------------------------


@bp.get("/survey/<int:plan_id>/import")
@require_edit
def survey_import(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    return render_template("officer/survey_import.html", plan=plan, report=None, error="")


@bp.post("/survey/<int:plan_id>/import")
@require_edit
def survey_import_post(plan_id: int) -> ResponseReturnValue:
    request.max_content_length = MAX_UPLOAD
    plan = plan_or_abort(plan_id)
    upload = request.files.get("keyed")
    db = get_session()
    try:
        if upload is None or not upload.filename:
            raise PlanError(_("Hãy chọn tệp phiếu đã nhập (CSV hoặc XLSX)."), rule="no_file")
        report = paper_keying.import_file(db, plan, upload.read(), upload.filename)
    except PlanError as error:
        db.rollback()
        return (
            render_template("officer/survey_import.html", plan=plan, report=None, error=str(error)),
            422,
        )
    _log(
        "paper_forms_imported",
        plan,
        stored=report.stored,
        already=report.already,
        rejected=len(report.rejected),
    )
    db.commit()
    return render_template("officer/survey_import.html", plan=plan, report=report, error="")


# -- report ----------------------------------------------------------------------------------


@bp.get("/survey/<int:plan_id>/report")
def survey_report_page(plan_id: int) -> ResponseReturnValue:
    plan = plan_or_abort(plan_id)
    report = survey_report.build(get_session(), plan)
    return render_template("officer/survey_report.html", plan=plan, report=report)
