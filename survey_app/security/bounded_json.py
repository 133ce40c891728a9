"""JSON bodies parsed within bounds: nesting depth, integer size, no NaN, no NUL characters.

Python's parser recurses once per nesting level (``[`` × 30,000 is a RecursionError, a 500)
and reads integers of any length; every integer a client sends here ends in a 32-bit
INTEGER column, and PostgreSQL refuses text holding NUL.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
INT_MAX = 2**31 - 1
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class JSONRefused(ValueError):
    """A body that is not JSON or lies outside the bounds (the message says which)."""


def loads(data: str | bytes | bytearray, *, validated: tuple[str, ...] = ()) -> Any:
    """``json.loads`` with the bounds of the module docstring; raises ``JSONRefused``.

    ``validated``: top-level keys whose values a later check reads field by field and whose
    refusal names the field (a NUL in a survey comment is an invalid answer, 422).
    """
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if bracket[0] in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            raise JSONRefused(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except JSONRefused:
        raise
    except (ValueError, RecursionError) as error:
        raise JSONRefused("the body is not valid JSON") from error
    if isinstance(value, dict):
        _refuse_nul({k: v for k, v in value.items() if k not in validated})
    else:
        _refuse_nul(value)
    return value


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > len(str(INT_MAX)) or abs(int(digits)) > INT_MAX:
        raise JSONRefused(f"a whole number must be between -{INT_MAX} and {INT_MAX}")
    return int(digits)


def _no_constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not a number JSON allows")


def _refuse_nul(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise JSONRefused("the JSON holds a NUL character (\\u0000)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
