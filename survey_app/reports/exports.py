"""Views of the CSV of all responses built in the background: start a job, watch its progress,
download the file when it is complete. Only officers whose scope holds the job's unit see it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..db import get_session
from ..errors import friendly_abort
from ..models.exports import ExportJob
from ..officer.access import current_scope, deny, period_from_args, tree, unit_or_abort
from ..officer.auth import current_officer
from ..officer.formatting import workspace_names
from ..services import accounts, export_jobs
from . import bp

bp.context_processor(workspace_names)


def export_folder() -> Path:
    configured = current_app.config.get("EXPORT_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "exports"


def _stale() -> float:
    return float(current_app.config["EXPORT_STALE_SECONDS"])


def _job_or_abort(token: str) -> ExportJob:
    job = export_jobs.by_token(get_session(), token)
    if job is None:
        friendly_abort(
            404,
            _("Không tìm thấy tệp"),
            _("Liên kết tải tệp không đúng hoặc tệp đã bị xóa; hãy tạo tệp mới."),
        )
    if not current_scope().allows(job.unit_id):
        deny(f"export:{job.unit_id}")
    return job


def _period_args() -> tuple[str | None, datetime | None, datetime | None]:
    """The period of the query string (the form posts to a URL that carries it), or none."""
    if not request.args.get("period"):
        return None, None, None
    period = period_from_args()
    start, end = period.utc_bounds(current_app.config["TIME_ZONE"])
    return period.label, start, end


@bp.get("/units/<code>/exports")
def unit_exports(code: str) -> ResponseReturnValue:
    unit = unit_or_abort(code)
    label, _start, _end = _period_args()
    ids = tree().subtree_ids(unit.id)
    jobs = [
        export_jobs.state(job, stale_seconds=_stale())
        for job in export_jobs.recent(get_session(), ids)
    ]
    return render_template(
        "officer/exports.html", unit=unit, period=label, jobs=jobs, units=tree().units
    )


@bp.post("/units/<code>/exports")
def start_export(code: str) -> ResponseReturnValue:
    unit = unit_or_abort(code)
    label, start, end = _period_args()
    db = get_session()
    folder = export_folder()
    export_jobs.clean_up(
        db,
        folder,
        keep_hours=float(current_app.config["EXPORT_KEEP_HOURS"]),
        stale_seconds=_stale(),
    )
    officer = current_officer()
    job = export_jobs.create(
        db,
        unit=unit,
        officer_id=officer.id,
        period=label,
        starts_at=start,
        ends_at=end,
    )
    accounts.record(db, "export_csv_job", officer=officer, target=unit.code, period=label or "all")
    db.commit()
    export_jobs.start_thread(db.get_bind(), job.id, folder)  # type: ignore[arg-type]
    return redirect(url_for("reports.export_job", token=job.token), 303)


@bp.get("/exports/<token>")
def export_job(token: str) -> ResponseReturnValue:
    job = _job_or_abort(token)
    unit = tree().units[job.unit_id]
    return render_template(
        "officer/export_job.html",
        job=export_jobs.state(job, stale_seconds=_stale()),
        unit=unit,
    )


@bp.get("/exports/<token>.json")
def export_progress(token: str) -> ResponseReturnValue:
    job = export_jobs.state(_job_or_abort(token), stale_seconds=_stale())
    return jsonify(
        status=job.status,
        rows_written=job.rows_written,
        rows_expected=job.rows_expected,
        percent=job.percent,
        error=job.error,
    )


@bp.get("/exports/<token>/file")
def export_file(token: str) -> ResponseReturnValue:
    job = _job_or_abort(token)
    path = export_jobs.ready_file(export_folder(), job, stale_seconds=_stale())
    if path is None:
        friendly_abort(
            409,
            _("Tệp chưa sẵn sàng"),
            _("Tệp này chưa xong, bị lỗi hoặc đã bị xóa; hãy xem trang tiến độ hoặc tạo tệp mới."),
        )
    db = get_session()
    accounts.record(
        db,
        "export_csv",
        officer=current_officer(),
        target=tree().units[job.unit_id].code,
        period=job.period,
        file=job.download_name,
        rows=job.rows_written,
    )
    db.commit()
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=job.download_name)
