"""The scoring plan of a questionnaire: which stored columns are tallied, what each row reports.

Every reported number is a ratio over one stored column: Σ w·y(code) / Σ w·a(code), where
``a`` says whether a code is an answer that counts and ``y`` what it scores (0–1). Writing
both as small lookup tables indexed by code makes the rows route and the count-table route
the same arithmetic, and lets one vectorised pass serve every level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from questionnaires import NOT_APPLICABLE_CODE, IndexNode, Item, Questionnaire

from .settings import Method, ScoringSettings

#: Levels of the tidy scores table, in the order rows are listed within a group.
LEVELS = (
    "overall",
    "aspect",
    "element",
    "item",
    "overall_question",
    "element_question",
    "expectation",
    "perception",
)

#: Slot of a stored code in a tally: slot 0 is "no answer", slot c + 1 holds code c.
EMPTY_SLOT = 0


@dataclass(frozen=True)
class Measure:
    """One reported row per group: a share or mean score of one stored column.

    ``answered[slot]`` is 1 where the code counts in the denominator, ``score[slot]`` the
    value (0–1) it adds to the numerator. ``kind`` is ``share`` (a proportion: Wilson
    interval, two-proportion test) or ``mean`` (mean_score: linearised interval).
    """

    code: str
    column: int
    level: str
    label_vi: str
    kind: str
    answered: NDArray[np.float64]
    score: NDArray[np.float64]


@dataclass(frozen=True)
class Node:
    """An index node (element, aspect or overall) with its children and its leaf measures."""

    code: str
    level: str
    label_vi: str
    #: Positions in ``ScoringPlan.measures`` of an element's items (empty for other levels).
    items: tuple[int, ...]
    #: Positions in ``ScoringPlan.nodes`` of the children (empty for an element).
    children: tuple[int, ...]
    #: Positions in ``ScoringPlan.columns`` of every item below the node.
    leaf_columns: tuple[int, ...]


@dataclass(frozen=True)
class ScoringPlan:
    """What to tally and report for one questionnaire under one set of settings."""

    questionnaire: Questionnaire
    method: Method
    #: Stored item codes (wide-format columns) that are tallied, in report order.
    columns: tuple[str, ...]
    #: Allowed codes per column (empty is always allowed).
    allowed: tuple[tuple[int, ...], ...]
    #: Positions in ``columns`` of the satisfaction items (the validity rule counts these).
    satisfaction_columns: tuple[int, ...]
    measures: tuple[Measure, ...]
    #: Index nodes, parents before children; ``nodes[0]`` is the root (overall index).
    nodes: tuple[Node, ...]
    #: Number of slots per column in a tally: one more than the largest code, plus "empty".
    slots: int
    validity_threshold: int

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def column_position(self, code: str) -> int:
        return self.columns.index(code)


def item_label(item: Item) -> str:
    """The Vietnamese label a report shows: the short form when the file gives one."""
    return (item.short or item.text).vi


def build_plan(questionnaire: Questionnaire, settings: ScoringSettings) -> ScoringPlan:
    """The scoring plan of ``questionnaire`` under ``settings``."""
    method = settings.method_for(questionnaire.scoring_method)
    items = questionnaire.items
    tree_items = questionnaire.index.leaf_items()
    satisfaction = [*tree_items] + [
        i.code for i in questionnaire.satisfaction_items if i.code not in tree_items
    ]
    others = [
        i.code
        for i in items.values()
        if i.role in ("overall", "question", "expectation", "perception")
    ]
    columns: list[str] = []
    allowed: list[tuple[int, ...]] = []
    for code in [*satisfaction, *others]:
        item = items[code]
        for stored in item.sub_items():
            columns.append(stored)
            allowed.append(item.codes)
    largest = max((max(codes) for codes in allowed if codes), default=NOT_APPLICABLE_CODE)
    slots = largest + 2

    def table(
        codes: tuple[int, ...] | list[int], value: float | dict[int, float] = 1.0
    ) -> NDArray[np.float64]:
        out = np.zeros(slots)
        for c in codes:
            out[c + 1] = value[c] if isinstance(value, dict) else value
        return out

    measures: list[Measure] = []
    by_item: dict[str, int] = {}

    def rated(item: Item, level: str) -> Measure:
        """A satisfaction-scale question scored by the method (items, HL, element questions)."""
        assert item.scale is not None  # the loader guarantees a scale on choice items
        scale = sorted(item.scale.codes)
        counted = list(scale)
        if settings.cannot_judge == "not_satisfied" and NOT_APPLICABLE_CODE in item.codes:
            counted.append(NOT_APPLICABLE_CODE)
        if method == "mean_score":
            low, high = scale[0], scale[-1]
            values = {c: (c - low) / (high - low) for c in scale}
            score, kind = table(scale, values), "mean"
        else:
            score, kind = table([c for c in settings.satisfied_codes if c in scale]), "share"
        return Measure(
            item.code,
            columns.index(item.code),
            level,
            item_label(item),
            kind,
            table(counted),
            score,
        )

    for code in satisfaction:
        by_item[code] = len(measures)
        measures.append(rated(items[code], "item"))
    for code in others:
        item = items[code]
        assert item.scale is not None
        scale = sorted(item.scale.codes)
        if item.role == "overall":
            measures.append(rated(item, "overall_question"))
        elif item.role == "question":
            measures.append(rated(item, "element_question"))
        elif item.role == "expectation":
            # "Share answering 3 or 4 on desire-4": the two highest codes of the scale.
            measures.append(
                Measure(
                    code,
                    columns.index(code),
                    "expectation",
                    item_label(item),
                    "share",
                    table(scale),
                    table(scale[-2:]),
                )
            )
        elif item.type == "multi":
            for option in item.scale.options:
                stored = f"{code}_{option.code}"
                measures.append(
                    Measure(
                        stored,
                        columns.index(stored),
                        "perception",
                        f"{item_label(item)}: {option.label.vi}",
                        "share",
                        table(item.codes),
                        table([1]),
                    )  # 1 = chosen
                )
        elif item.report_options:
            measures.append(
                Measure(
                    code,
                    columns.index(code),
                    "perception",
                    item_label(item),
                    "share",
                    table(scale),
                    table(list(item.report_options)),
                )
            )
        else:
            # No named option to report: the share of each option.
            for option in item.scale.options:
                measures.append(
                    Measure(
                        f"{code}:{option.code}",
                        columns.index(code),
                        "perception",
                        f"{item_label(item)}: {option.label.vi}",
                        "share",
                        table(scale),
                        table([option.code]),
                    )
                )

    nodes: list[Node] = []

    def add(node: IndexNode) -> int:
        position = len(nodes)
        nodes.append(Node(node.code, node.level, node.label.vi, (), (), ()))
        children = tuple(add(child) for child in node.children)
        leaf = tuple(columns.index(code) for code in node.leaf_items())
        nodes[position] = Node(
            node.code,
            node.level,
            node.label.vi,
            tuple(by_item[code] for code in node.items),
            children,
            leaf,
        )
        return position

    add(questionnaire.index)
    sat_positions = tuple(columns.index(code) for code in satisfaction)
    return ScoringPlan(
        questionnaire=questionnaire,
        method=method,
        columns=tuple(columns),
        allowed=tuple(allowed),
        satisfaction_columns=sat_positions,
        measures=tuple(measures),
        nodes=tuple(nodes),
        slots=slots,
        validity_threshold=settings.validity_threshold(
            questionnaire.validity_min_share, len(sat_positions)
        ),
    )
