"""Check one submitted set of answers against a questionnaire version (web form and kiosk alike)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import CHOSEN, NOT_APPLICABLE_CODE, NOT_CHOSEN, Item, Questionnaire

#: Control characters a person can type into a text box; every other one is refused.
ALLOWED_CONTROL = {"\n", "\t"}
#: What a text becomes where its bytes were not valid UTF-8.
REPLACEMENT_CHARACTER = "\ufffd"


@dataclass(frozen=True)
class Problem:
    """Why one answer cannot be stored. ``kind`` is stable; the app words it for people."""

    item: str
    kind: str  # missing | not_a_code | out_of_range | unknown_item | too_long | invalid_characters
    value: Any = None


@dataclass(frozen=True)
class CheckedAnswers:
    """Answers ready to store: ``codes`` by stored item code, the cleaned comment, the problems."""

    codes: dict[str, int] = field(default_factory=dict)
    comment: str | None = None
    problems: tuple[Problem, ...] = ()
    valid: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem_for(self, item: str) -> Problem | None:
        return next((p for p in self.problems if p.item == item), None)


def is_valid_response(questionnaire: Questionnaire, codes: Mapping[str, int]) -> bool:
    """The validity rule: enough satisfaction items answered (a 'cannot judge' is not an answer)."""
    items = questionnaire.satisfaction_items
    if not items:
        return True
    answered = sum(
        1 for i in items if codes.get(i.code, NOT_APPLICABLE_CODE) != NOT_APPLICABLE_CODE
    )
    return answered >= math.ceil(questionnaire.validity_min_share * len(items))


def clean_text(value: str) -> str:
    """NFC-normalise, unify line ends and trim: what is stored is always NFC."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def has_invalid_characters(value: str) -> bool:
    """Control characters (other than line breaks and tabs), undecodable bytes, lone surrogates."""
    return any(
        (unicodedata.category(ch) in ("Cc", "Cs") and ch not in ALLOWED_CONTROL)
        or ch == REPLACEMENT_CHARACTER
        for ch in value.replace("\r", "")
    )


def check_answers(questionnaire: Questionnaire, raw: Mapping[str, Any]) -> CheckedAnswers:
    """Check answers keyed by item code.

    A choice answer is a code (int or digit string); a ``multi`` answer is a list of option codes;
    the comment is a string. Empty values mean "not answered".
    """
    items = questionnaire.items
    problems: list[Problem] = []
    codes: dict[str, int] = {}
    comment: str | None = None

    for key in raw:
        if key not in items:
            problems.append(Problem(str(key), "unknown_item", raw[key]))

    for item in items.values():
        value = raw.get(item.code)
        if item.type == "text":
            comment, problem = _check_text(item, value)
        elif item.type == "multi":
            problem = _check_multi(item, value, codes)
        else:
            problem = _check_choice(item, value, codes)
        if problem is not None:
            problems.append(problem)

    return CheckedAnswers(
        codes=codes,
        comment=comment,
        problems=tuple(problems),
        valid=is_valid_response(questionnaire, codes),
    )


MAX_CODE_DIGITS = 9


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # A code has a few digits; a longer string is refused before int() reads it (Python
    # refuses more than 4,300 digits with an error, and the stored column is 32-bit).
    text = value.strip() if isinstance(value, str) else ""
    if text.isdigit() and text.isascii() and len(text) <= MAX_CODE_DIGITS:
        return int(text)
    return None


def _check_choice(item: Item, value: Any, codes: dict[str, int]) -> Problem | None:
    if _is_empty(value):
        return Problem(item.code, "missing") if item.required else None
    code = _as_code(value)
    if code is None:
        return Problem(item.code, "not_a_code", value)
    if code not in item.codes:
        return Problem(item.code, "out_of_range", code)
    codes[item.code] = code
    return None


def _check_multi(item: Item, value: Any, codes: dict[str, int]) -> Problem | None:
    if _is_empty(value):
        return Problem(item.code, "missing") if item.required else None
    values = value if isinstance(value, list | tuple) else [value]
    chosen = set()
    for one in values:
        code = _as_code(one)
        if code is None:
            return Problem(item.code, "not_a_code", one)
        if item.scale is None or code not in item.scale.codes:
            return Problem(item.code, "out_of_range", code)
        chosen.add(code)
    for option in item.scale.codes if item.scale else ():
        codes[f"{item.code}_{option}"] = CHOSEN if option in chosen else NOT_CHOSEN
    return None


def _check_text(item: Item, value: Any) -> tuple[str | None, Problem | None]:
    if _is_empty(value):
        return None, (Problem(item.code, "missing") if item.required else None)
    if not isinstance(value, str):
        return None, Problem(item.code, "not_a_code", value)
    if has_invalid_characters(value):
        return None, Problem(item.code, "invalid_characters")
    text = clean_text(value)
    if item.max_length is not None and len(text) > item.max_length:
        return None, Problem(item.code, "too_long", len(text))
    return (text or None), None
