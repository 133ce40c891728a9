"""The words a citizen reads when an answer cannot be accepted."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _

from questionnaires import Item, Problem


def problem_message(problem: Problem, item: Item | None) -> str:
    """A sentence in the page's language that says what to do about one answer."""
    if problem.kind == "missing":
        return _("Vui lòng chọn một câu trả lời cho câu này.")
    if problem.kind == "too_long" and item is not None and item.max_length:
        return _(
            "Ý kiến dài %(length)s ký tự, quá giới hạn %(limit)s ký tự. Vui lòng rút gọn.",
            length=format_decimal(problem.value or 0),
            limit=format_decimal(item.max_length),
        )
    if problem.kind == "invalid_characters":
        return _(
            "Ý kiến có ký tự không hợp lệ (ký tự điều khiển hoặc lỗi mã hóa). Vui lòng xóa "
            "chúng rồi gửi lại."
        )
    if problem.kind == "unknown_item":
        return _("Phiếu gửi lên có câu hỏi không thuộc phiếu khảo sát này.")
    return _("Câu trả lời không hợp lệ. Vui lòng chọn một trong các lựa chọn.")
