"""The one exception family of analysis/: every domain failure is an AnalysisError."""

from __future__ import annotations

from typing import Any


class AnalysisError(Exception):
    """Base of every failure that comes from the data or the method, not from a bug."""


class DataError(AnalysisError, ValueError):
    """The responses (or a count, targets or units table) do not fit the questionnaire.

    The message names the source, the row and the column, so the command can print it as is.
    ``row`` is the index label of the offending row; :func:`analysis.read_responses` sets the
    index to the spreadsheet row number, so for files it is the row a person sees in Excel.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str = "",
        row: Any = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        self.problem, self.source, self.row, self.column, self.value = (
            problem,
            source,
            row,
            column,
            value,
        )
        where = [source] if source else []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)

    def with_source(self, source: str) -> DataError:
        """The same error, naming the file it came from."""
        return DataError(
            self.problem, source=source, row=self.row, column=self.column, value=self.value
        )


def shown(value: Any) -> str:
    """A cell value as a message shows it: ``7``, ``'rất tốt'``, never ``np.int64(7)``."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()  # a numpy scalar: its plain Python value
    if isinstance(value, float) and value.is_integer():
        return repr(int(value)) if abs(value) < 1e15 else repr(value)
    return repr(value)
