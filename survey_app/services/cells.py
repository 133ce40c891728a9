"""Text cells of the exports made safe to open in a spreadsheet (OWASP's CSV-injection rule).

A cell whose text begins with one of ``FORMULA_PREFIXES`` would be run as a formula by Excel or
LibreOffice (``=HYPERLINK(…)`` in a citizen's comment becomes a live link); such text is written
with a leading apostrophe, which spreadsheets show as text. Both the CSV (in Python and in
PostgreSQL's COPY) and the XLSX report use the rule defined here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, literal
from sqlalchemy.sql.elements import ColumnElement

#: A cell starting with one of these is read as a formula (tab and CR too, per OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never as a formula it would run."""
    return ESCAPE + text if text.startswith(FORMULA_PREFIXES) else text


def neutralised_sql(column: Any) -> ColumnElement[Any]:
    """The same rule as ``neutralise`` written in SQL, for exports the database writes itself."""
    first = func.substr(column, 1, 1)
    return case((first.in_(FORMULA_PREFIXES), literal(ESCAPE) + column), else_=column)
