"""The named settings of the SIPAS method (SIPAS.md section 4–5): every choice is explicit."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Method = Literal["top2box", "mean_score"]

#: In ``exclude_flags``: leave out a response carrying any integrity flag.
ANY_FLAG = "*"


@dataclass(frozen=True)
class ScoringSettings:
    """How responses become indices. The defaults are the official SIPAS method.

    Parameters
    ----------
    method : {"top2box", "mean_score"} or None
        Item score. ``None`` uses the questionnaire's ``scoring.method`` (``top2box`` for every
        shipped questionnaire). ``top2box``: share of answers in ``satisfied_codes``;
        ``mean_score`` (not official): (mean code − 1) / 4 × 100.
    satisfied_codes : tuple of int
        The codes counted as satisfied by ``top2box`` (4 Hài lòng, 5 Rất hài lòng).
    validity_min_share : float or None
        Validity rule: a response is valid when at least ``ceil(share × k)`` of its ``k``
        satisfaction items are answered (code 0 "cannot judge" does not count). ``None`` uses
        the questionnaire's ``valid_if_answered_share`` (0.5).
    drop_invalid : bool
        Leave invalid responses out of every index (they are still counted in
        ``ScoreResult.responses``). ``False`` switches the validity rule off.
    cannot_judge : {"missing", "not_satisfied"}
        Missing-answer rule for code 0 ("Không đánh giá"). ``missing`` (SIPAS.md §4): left
        out of that item like an empty answer. ``not_satisfied``: kept in the item's
        denominator as not satisfied (only with ``top2box``).
    empty_child : {"skip", "nan"}
        A node (element, aspect, overall) whose child has no answers in a group: ``skip``
        averages the children that have an index; ``nan`` makes the node undefined.
    honour_valid_column : bool
        Leave out responses whose ``valid`` column is 0/false (the app's verdict, including an
        officer's exclusion). ``False`` scores them if the validity rule passes.
    exclude_flags : iterable of str
        Integrity flags (``flags`` column) whose responses are left out. Empty: flagged
        responses are scored. ``{"*"}``: any flag excludes.
    min_n : int
        Below this ``n`` an index is flagged (``min_n_flag``) and not ranked.
    confidence : float
        Confidence level of every interval.
    """

    method: Method | None = None
    satisfied_codes: tuple[int, ...] = (4, 5)
    validity_min_share: float | None = None
    drop_invalid: bool = True
    cannot_judge: Literal["missing", "not_satisfied"] = "missing"
    empty_child: Literal["skip", "nan"] = "skip"
    honour_valid_column: bool = True
    exclude_flags: frozenset[str] = field(default_factory=frozenset)
    min_n: int = 30
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.method not in (None, "top2box", "mean_score"):
            raise ValueError(f"method must be 'top2box', 'mean_score' or None, got {self.method!r}")
        codes = tuple(self.satisfied_codes)
        if not codes or not all(isinstance(c, int) and 1 <= c <= 99 for c in codes):
            raise ValueError(
                f"satisfied_codes must be codes from 1 to 99, got {self.satisfied_codes!r}"
            )
        object.__setattr__(self, "satisfied_codes", codes)
        share = self.validity_min_share
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1
        ):
            raise ValueError(f"validity_min_share must be from 0 to 1, got {share!r}")
        if self.cannot_judge not in ("missing", "not_satisfied"):
            raise ValueError(
                f"cannot_judge must be 'missing' or 'not_satisfied', got {self.cannot_judge!r}"
            )
        if self.cannot_judge == "not_satisfied" and self.method == "mean_score":
            raise ValueError(
                "cannot_judge='not_satisfied' has no score under method='mean_score'; "
                f"got cannot_judge={self.cannot_judge!r} with method={self.method!r}"
            )
        if self.empty_child not in ("skip", "nan"):
            raise ValueError(f"empty_child must be 'skip' or 'nan', got {self.empty_child!r}")
        if isinstance(self.exclude_flags, str):
            raise TypeError(
                f"exclude_flags must be a collection of flag names, got {self.exclude_flags!r}"
            )
        flags: Iterable[str] = self.exclude_flags
        object.__setattr__(self, "exclude_flags", frozenset(str(f) for f in flags))
        if isinstance(self.min_n, bool) or not isinstance(self.min_n, int) or self.min_n < 0:
            raise ValueError(f"min_n must be a whole number ≥ 0, got {self.min_n!r}")
        if not (isinstance(self.confidence, float) and 0 < self.confidence < 1):
            raise ValueError(
                f"confidence must be a number between 0 and 1, got {self.confidence!r}"
            )

    def method_for(self, questionnaire_method: str) -> Method:
        """The item scoring method in force: this setting, else the questionnaire's."""
        chosen = self.method or questionnaire_method
        if chosen == "mean_score" and self.cannot_judge == "not_satisfied":
            raise ValueError(
                "cannot_judge='not_satisfied' has no score under the questionnaire's method "
                "'mean_score'; set cannot_judge='missing'"
            )
        return "mean_score" if chosen == "mean_score" else "top2box"

    def validity_threshold(self, questionnaire_share: float, satisfaction_items: int) -> int:
        """How many satisfaction items a valid response must answer.

        The same expression as ``questionnaires.is_valid_response`` (the app's rule at
        submission), so a response is valid here exactly when it was valid there.
        """
        share = questionnaire_share if self.validity_min_share is None else self.validity_min_share
        if not self.drop_invalid or satisfaction_items == 0:
            return 0
        return math.ceil(share * satisfaction_items)
