"""The words people read for the app's codes: index levels, flags, channels, forms, audit
events and their details, yes/no. Vietnamese first; English through gettext when the page
or report is English. Pages, XLSX, PDF and CSV all take their words from here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _


def level_names() -> dict[str, str]:
    return {
        "overall": _("Chỉ số SIPAS"),
        "aspect": _("Lĩnh vực"),
        "element": _("Yếu tố"),
        "item": _("Tiêu chí"),
        "overall_question": _("Câu hài lòng chung"),
        "element_question": _("Câu hài lòng theo yếu tố"),
        "expectation": _("Mong đợi"),
        "perception": _("Cảm nhận"),
    }


def role_names() -> dict[str, str]:
    return {
        "satisfaction": _("Tiêu chí (câu hỏi mức hài lòng)"),
        "overall": _("Câu hài lòng chung"),
        "element_overall": _("Câu hài lòng theo yếu tố"),
        "expectation": _("Mong đợi"),
        "perception": _("Cảm nhận"),
        "profile": _("Thông tin người trả lời"),
        "comment": _("Ý kiến"),
        "question": _("Câu hỏi"),
    }


def quadrant_names() -> dict[str, str]:
    return {
        "fix_first": _("Ưu tiên cải thiện"),
        "keep_up": _("Tiếp tục duy trì"),
        "low_priority": _("Cải thiện sau"),
        "possible_overkill": _("Có thể đang đầu tư thừa"),
    }


def flag_names() -> dict[str, str]:
    return {
        "too_fast": _("trả lời quá nhanh"),
        "over_rate": _("quá nhiều phiếu trong một giờ"),
        "outside_hours": _("ngoài giờ làm việc"),
        "very_dissatisfied": _("rất không hài lòng"),
    }


def channel_names() -> dict[str, str]:
    return {
        "qr": _("Mã QR"),
        "kiosk": _("Kiosk"),
        "web": _("Trang web"),
        "paper": _("Phiếu giấy"),
    }


def form_names() -> dict[str, str]:
    return {
        "sipas-service": _("Phiếu đầy đủ (16 tiêu chí)"),
        "sipas-kiosk": _("Phiếu kiosk (5 câu)"),
        "sipas-2017": _("Phiếu SIPAS 2017 (22 tiêu chí)"),
        "sipas-2023": _("Phiếu SIPAS 2023 (hộ gia đình)"),
    }


def yes_no(value: Any) -> str:
    """True → "Có", False → "Không", missing → ""."""
    if value is None:
        return ""
    try:
        if value != value:  # NaN, pandas NA
            return ""
    except (TypeError, ValueError):
        return ""
    return str(_("Có") if bool(value) else _("Không"))


def event_names() -> dict[str, str]:
    return {
        "access_denied": _("Bị từ chối truy cập"),
        "api_token_issued": _("Cấp khóa API"),
        "api_token_revoked": _("Thu hồi khóa API"),
        "backup_made": _("Sao lưu dữ liệu"),
        "comment_handled": _("Xử lý ý kiến người dân"),
        "data_purged": _("Xóa dữ liệu hết hạn lưu giữ"),
        "database_restored": _("Khôi phục dữ liệu"),
        "desk_created": _("Thêm quầy"),
        "desk_updated": _("Sửa quầy"),
        "export_csv": _("Tải phiếu trả lời (CSV)"),
        "export_pdf": _("Tải báo cáo PDF"),
        "export_posters": _("Tải áp phích mã QR"),
        "export_xlsx": _("Tải báo cáo Excel"),
        "kiosk_code_issued": _("Cấp mã đăng ký kiosk"),
        "kiosk_enrolled": _("Đăng ký máy kiosk"),
        "kiosk_revoked": _("Thu hồi máy kiosk"),
        "officer_created": _("Tạo tài khoản cán bộ"),
        "officer_deactivated": _("Khóa tài khoản cán bộ"),
        "password_changed": _("Đổi mật khẩu"),
        "review_decision": _("Quyết định rà soát phiếu"),
        "service_created": _("Thêm thủ tục"),
        "service_updated": _("Sửa thủ tục"),
        "sessions_ended": _("Kết thúc mọi phiên đăng nhập"),
        "sign_in": _("Đăng nhập"),
        "sign_in_failed": _("Đăng nhập không thành công"),
        "sign_in_throttled": _("Tạm chặn đăng nhập (thử sai nhiều lần)"),
        "sign_out": _("Đăng xuất"),
        "subject_erased": _("Xóa dữ liệu theo yêu cầu của người dân"),
        "subject_searched": _("Tra cứu dữ liệu theo yêu cầu của người dân"),
        "target_deleted": _("Xóa chỉ tiêu"),
        "target_set": _("Đặt chỉ tiêu"),
        "unit_created": _("Thêm đơn vị"),
        "unit_updated": _("Sửa đơn vị"),
    }


def detail_names() -> dict[str, str]:
    return {
        "period": _("kỳ"),
        "file": _("tệp"),
        "token": _("khóa"),
        "unit": _("đơn vị"),
        "unit_code": _("đơn vị"),
        "desk": _("quầy"),
        "desk_code": _("quầy"),
        "size": _("khổ giấy"),
        "count": _("số lượng"),
        "path": _("trang"),
        "reason": _("lý do"),
        "decision": _("quyết định"),
        "note": _("ghi chú"),
        "role": _("vai trò"),
        "username": _("tên đăng nhập"),
        "full_name": _("họ tên"),
        "label": _("tên máy"),
        "code": _("mã"),
        "value": _("giá trị"),
        "index": _("chỉ số"),
        "response_ids": _("phiếu"),
        "responses": _("số phiếu"),
        "comments": _("số ý kiến"),
        "service_code": _("thủ tục"),
        "parent_code": _("đơn vị cấp trên"),
        "name": _("tên"),
        "active": _("đang hoạt động"),
        "cli": _("dòng lệnh"),
    }


def event_name(action: str) -> str:
    """An audit action in words (the code itself for an action not listed yet)."""
    return event_names().get(action, action.replace("_", " "))


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if value is None:
        return "–"
    if isinstance(value, list | tuple):
        shown = ", ".join(_value_text(v) for v in value[:10])
        return shown + (f" … (+{len(value) - 10})" if len(value) > 10 else "")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def describe_detail(detail: Mapping[str, Any] | None) -> str:
    """An audit event's details as "kỳ: 2026; tệp: sipas-QN-DH-2026.xlsx" (no JSON)."""
    if not detail:
        return ""
    names = detail_names()
    parts = [
        f"{names.get(key, key.replace('_', ' '))}: {_value_text(value)}"
        for key, value in detail.items()
        if value not in (None, "")
    ]
    return "; ".join(parts)
