"""SIPAS questionnaires as versioned data files, and the one loader that validates them."""

from .answers import CheckedAnswers, Problem, check_answers, is_valid_response
from .loader import DIRECTORY, QuestionnaireError, available, content_hash, from_mapping, get, load
from .model import (
    NOT_APPLICABLE_CODE,
    IndexNode,
    Item,
    Label,
    Option,
    Questionnaire,
    Scale,
    Section,
)

__all__ = [
    "DIRECTORY",
    "NOT_APPLICABLE_CODE",
    "CheckedAnswers",
    "IndexNode",
    "Item",
    "Label",
    "Option",
    "Problem",
    "Questionnaire",
    "QuestionnaireError",
    "Scale",
    "Section",
    "available",
    "check_answers",
    "content_hash",
    "from_mapping",
    "get",
    "is_valid_response",
    "load",
]
