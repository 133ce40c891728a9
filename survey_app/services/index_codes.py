"""Which indices a questionnaire shows: read off its index tree, never from a fixed list."""

from __future__ import annotations

from collections.abc import Iterable

import questionnaires
from questionnaires import Questionnaire


def headline_codes(questionnaire: Questionnaire) -> tuple[str, ...]:
    """The indices shown at a glance: every node of the questionnaire's index tree, parents
    first (sipas-service: SIPAS and its five elements; sipas-2023: SIPAS, aspects, groups)."""
    return tuple(node.code for node in questionnaire.index.walk())


def target_codes(first: str, others: Iterable[str] | None = None) -> tuple[str, ...]:
    """Codes a target can be set for: each questionnaire's headline indices and its overall
    question, ``first`` (the default questionnaire) leading, no code twice."""
    ids = [first, *sorted(set(questionnaires.available() if others is None else others) - {first})]
    codes: dict[str, None] = {}
    for qid in ids:
        q = questionnaires.get(qid)
        overall = [item.code for item in q.items.values() if item.role == "overall"]
        codes.update(dict.fromkeys([*headline_codes(q), *overall]))
    return tuple(codes)
