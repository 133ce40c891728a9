"""What the tablet needs to draw a questionnaire version: screens, questions, labels vi/en."""

from __future__ import annotations

from typing import Any

from questionnaires import Item, Label, Questionnaire

#: Scales the tablet draws as faces (one per level, with its word): the satisfaction scale.
FACE_SCALES = {"satisfaction-5"}


def _label(label: Label | None) -> dict[str, str] | None:
    return None if label is None else {"vi": label.vi, "en": label.en}


def _item(item: Item) -> dict[str, Any]:
    return {
        "code": item.code,
        "type": item.type,
        "role": item.role,
        "text": _label(item.text),
        "required": item.required,
        "faces": item.scale is not None and item.scale.code in FACE_SCALES,
        "options": [
            {"code": option.code, "label": _label(option.label)}
            for option in (item.scale.options if item.scale else ())
        ],
        "not_applicable": _label(item.not_applicable),
        "max_length": item.max_length,
    }


def client_questionnaire(questionnaire: Questionnaire) -> dict[str, Any]:
    """One screen per section: a section of the kiosk form is one element's single question; a
    longer form shows an element's questions together."""
    return {
        "id": questionnaire.id,
        "version": questionnaire.version,
        "title": _label(questionnaire.title),
        "intro": _label(questionnaire.intro),
        "screens": [
            {
                "code": section.code,
                "title": _label(section.title),
                "intro": _label(section.intro),
                "items": [_item(item) for item in section.items],
            }
            for section in questionnaire.sections
        ],
    }
