"""Wide responses (SIPAS.md §7): read CSV/XLSX files and check them into a compact int8 matrix."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .errors import DataError, shown
from .plan import ScoringPlan
from .settings import ANY_FLAG, ScoringSettings

#: The system columns of the wide format, before the item columns. All are optional to
#: scoring except those a breakdown (``by``) or ``weights`` names.
SYSTEM_COLUMNS = (
    "response_id",
    "submitted_at",
    "unit_code",
    "desk_code",
    "service_code",
    "channel",
    "questionnaire",
    "questionnaire_version",
    "valid",
    "flags",
    "weight",
)

#: Code stored for "no answer" in the int8 matrix (code 0 is "cannot judge").
EMPTY = -1

#: The last line of a file exported by the app: ``#sipas-end rows=N``, N the response rows above
#: it. A file without it may be any table a person made; a file with it is checked (a cut file
#: says so instead of being read as fewer responses).
END_MARKER = "#sipas-end rows="

_TRUE = {"1", "true", "t", "yes", "y", "có"}
_FALSE = {"0", "false", "f", "no", "n", "không"}


def read_responses(path: str | Path) -> pd.DataFrame:
    """Read a wide responses file (CSV with or without a UTF-8 BOM, or XLSX) as text.

    The same reader serves any table a person prepares (targets, the unit tree).

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.xlsx`` file whose first row holds the column names.

    Returns
    -------
    DataFrame
        Every cell as a string (empty cells as missing), header names trimmed, indexed by
        the spreadsheet row number (the header is row 1, the first response row 2), so an
        error raised later names the row a person sees in Excel.

    Raises
    ------
    DataError
        The file is missing, empty, not UTF-8, not CSV/XLSX, or has duplicate column names.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "paper.csv"
    >>> _ = path.write_text("\\ufeffunit_code,TC1\\nX01,5\\nX01,\\n", encoding="utf-8")
    >>> frame = read_responses(path)
    >>> frame.index.tolist(), frame["TC1"].tolist()
    ([2, 3], ['5', nan])
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError("no such file", source=source)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", source=source)
    if suffix == ".csv":
        frame = _read_csv(path, source)
    elif suffix in (".xlsx", ".xlsm"):
        frame = _read_xlsx(path, source)
    else:
        raise DataError(
            f"not a CSV or XLSX file (found '{path.suffix or 'no extension'}')", source=source
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    seen: set[str] = set()
    for name in frame.columns:
        if name in seen:
            raise DataError("the column name appears twice", source=source, row=1, column=name)
        seen.add(name)
    if frame.empty:
        raise DataError("the file has a header but no responses", source=source)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return frame


def end_marker_rows(text: str) -> int | None:
    """The row count of an end-marker line (``#sipas-end rows=N``), None for any other text.

    Examples
    --------
    >>> end_marker_rows("#sipas-end rows=12"), end_marker_rows("12")
    (12, None)
    """
    if not text.startswith(END_MARKER):
        return None
    count = text[len(END_MARKER) :].strip()
    return int(count) if count.isdigit() else None


def _without_end_marker(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The rows above an export's end marker, once its count is checked against them."""
    if frame.empty or len(frame.columns) == 0:
        return frame
    last = frame.iloc[-1, 0]
    promised = end_marker_rows(last) if isinstance(last, str) else None
    if promised is None:
        return frame
    body = frame.iloc[:-1]
    if promised != len(body):
        raise DataError(
            f"the end marker counts {promised} responses but the file has {len(body)} "
            "(the export is incomplete)",
            source=source,
            row=len(frame) + 1,
        )
    return body


def _read_csv(path: Path, source: str) -> pd.DataFrame:
    try:
        return _without_end_marker(_read_frame(path), source)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text at byte {exc.start} (save it as CSV UTF-8)", source=source
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", source=source) from None
    except pd.errors.ParserError as exc:
        line = _parser_line(str(exc))
        raise DataError(
            "not a well-formed CSV table (a row has more cells than the header)",
            source=source,
            row=line,
        ) from None


def _read_frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype=str,
        encoding="utf-8-sig",
        keep_default_na=False,
        na_values=[""],
        skipinitialspace=False,
    )


def _parser_line(message: str) -> int | None:
    # pandas says e.g. "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4".
    words = message.replace(",", " ").split()
    for i, word in enumerate(words[:-1]):
        if word == "line" and words[i + 1].isdigit():
            return int(words[i + 1])
    return None


def _read_xlsx(path: Path, source: str) -> pd.DataFrame:
    if not zipfile.is_zipfile(path):
        raise DataError("not an XLSX workbook (the file is not a zip package)", source=source)
    try:
        frame = pd.read_excel(
            path, dtype=str, engine="openpyxl", keep_default_na=False, na_values=[""]
        )
    except (ValueError, KeyError, zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read the workbook ({exc})", source=source) from None
    return frame


@dataclass(frozen=True)
class ResponseMatrix:
    """Responses checked against a scoring plan: one int8 code per respondent and column.

    ``codes[i, j]`` is the code respondent ``i`` gave to ``plan.columns[j]``, or ``EMPTY``
    (−1) for no answer. One million responses × 23 columns is 23 MB.
    """

    codes: NDArray[np.int8]
    weights: NDArray[np.float64] | None
    #: Passes the validity rule (enough satisfaction items answered).
    rule_valid: NDArray[np.bool_]
    #: Not marked invalid or excluded in the ``valid`` column (all true when absent).
    column_valid: NDArray[np.bool_]
    #: Carries at least one integrity flag.
    flagged: NDArray[np.bool_]
    #: Carries a flag that ``settings.exclude_flags`` leaves out.
    flag_excluded: NDArray[np.bool_]
    #: Enters the indices: valid by the rule (if applied) and not excluded.
    scored: NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.codes.shape[0])


def response_matrix(
    frame: pd.DataFrame,
    plan: ScoringPlan,
    settings: ScoringSettings,
    weights: str | None = None,
) -> ResponseMatrix:
    """Check ``frame`` against ``plan`` and pack it; raise DataError at the first problem."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"responses must be a pandas DataFrame, got {type(frame).__name__}")
    if weights is not None and not isinstance(weights, str):
        raise TypeError(f"weights must be a column name, got {weights!r}")
    missing = [c for c in plan.columns if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:8]) + (" …" if len(missing) > 8 else "")
        raise DataError(
            f"{len(missing)} item column(s) of {plan.questionnaire.key} missing: {shown}",
            column=missing[0],
        )
    _check_questionnaire_columns(frame, plan)
    n = len(frame)
    codes = np.empty((n, len(plan.columns)), dtype=np.int8)
    for j, (name, allowed) in enumerate(zip(plan.columns, plan.allowed, strict=True)):
        codes[:, j] = _item_codes(frame, name, allowed)

    if plan.satisfaction_columns and plan.validity_threshold > 0:
        answered = (codes[:, list(plan.satisfaction_columns)] >= 1).sum(axis=1)
        rule_valid = answered >= plan.validity_threshold
    else:
        rule_valid = np.ones(n, dtype=bool)
    column_valid = _valid_column(frame) if "valid" in frame.columns else np.ones(n, dtype=bool)
    flagged, flag_excluded = _flags(frame, settings.exclude_flags)
    scored = rule_valid & ~flag_excluded
    if settings.honour_valid_column:
        scored &= column_valid
    w = _weights(frame, weights) if weights is not None else None
    return ResponseMatrix(codes, w, rule_valid, column_valid, flagged, flag_excluded, scored)


def _first_row(frame: pd.DataFrame, mask: NDArray[np.bool_]) -> Hashable:
    row: Hashable = frame.index[int(np.flatnonzero(mask)[0])]
    return row


def _parse_code(value: Any) -> int | None:
    """A stored code from a cell: int, integral float, or digits; None for empty; else raise."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        raise ValueError(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if float(value).is_integer():
            return int(value)
        raise ValueError(value)
    text = str(value).strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    # Spreadsheets turn 4 into "4.0".
    head, dot, tail = text.partition(".")
    if dot and head.isascii() and head.isdigit() and set(tail) <= {"0"}:
        return int(head)
    raise ValueError(value)


def _item_codes(frame: pd.DataFrame, name: str, allowed: tuple[int, ...]) -> NDArray[np.int8]:
    # Factorising first means each distinct cell text is parsed once, not once per row.
    positions, uniques = pd.factorize(frame[name], use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=np.int8)
    mapped[-1] = EMPTY  # position -1 (missing) reads the last entry
    allowed_text = ", ".join(str(c) for c in allowed)
    for k, value in enumerate(uniques):
        try:
            code = _parse_code(value)
        except ValueError:
            raise DataError(
                f"{shown(value)} is not an answer code (allowed: {allowed_text} or empty)",
                row=_first_row(frame, positions == k),
                column=name,
                value=value,
            ) from None
        if code is not None and code not in allowed:
            raise DataError(
                f"code {code} is out of range (allowed: {allowed_text} or empty)",
                row=_first_row(frame, positions == k),
                column=name,
                value=value,
            )
        mapped[k] = EMPTY if code is None else code
    return mapped[positions]


def _check_questionnaire_columns(frame: pd.DataFrame, plan: ScoringPlan) -> None:
    q = plan.questionnaire
    for column, expected in (("questionnaire", q.id), ("questionnaire_version", q.version)):
        if column not in frame.columns:
            continue
        positions, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        for k, value in enumerate(uniques):
            text = str(value).strip()
            if text in ("", str(expected)) or (
                column == "questionnaire_version" and _same_int(value, q.version)
            ):
                continue
            raise DataError(
                f"this response answers {column} {text!r}, but it is being scored as {q.key}; "
                "score each questionnaire version separately",
                row=_first_row(frame, positions == k),
                column=column,
                value=value,
            )


def _same_int(value: Any, expected: int) -> bool:
    try:
        return _parse_code(value) == expected
    except ValueError:
        return False


def _valid_column(frame: pd.DataFrame) -> NDArray[np.bool_]:
    positions, uniques = pd.factorize(frame["valid"], use_na_sentinel=True)
    mapped = np.ones(len(uniques) + 1, dtype=bool)  # an empty cell marks nothing
    for k, value in enumerate(uniques):
        text = str(value).strip().lower()
        if isinstance(value, bool | np.bool_):
            mapped[k] = bool(value)
        elif text in _TRUE or text in ("1.0",):
            mapped[k] = True
        elif text in _FALSE or text in ("0.0",):
            mapped[k] = False
        elif text:
            raise DataError(
                f"{shown(value)} is not 1/0 or true/false",
                row=_first_row(frame, positions == k),
                column="valid",
                value=value,
            )
    return mapped[positions]


def _flags(
    frame: pd.DataFrame, exclude: frozenset[str]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    n = len(frame)
    if "flags" not in frame.columns:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    positions, uniques = pd.factorize(frame["flags"], use_na_sentinel=True)
    any_flag = np.zeros(len(uniques) + 1, dtype=bool)
    excluded = np.zeros(len(uniques) + 1, dtype=bool)
    for k, value in enumerate(uniques):
        names = {part.strip() for part in str(value).split(";")} - {""}
        any_flag[k] = bool(names)
        excluded[k] = bool(names) and (ANY_FLAG in exclude or bool(names & exclude))
    return any_flag[positions], excluded[positions]


def _weights(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    if column not in frame.columns:
        raise DataError("the weights column is missing", column=column)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        row = _first_row(frame, bad)
        raw = frame[column].loc[cast(Any, row)]
        raise DataError(
            f"weight {shown(raw)} is not a positive number", row=row, column=column, value=raw
        )
    return values
