"""The shape of a loaded questionnaire: immutable objects built once by the loader."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

LANGUAGES = ("vi", "en")

#: What an item is for. Only ``satisfaction`` items enter the index tree.
ROLES = ("satisfaction", "overall", "question", "expectation", "perception", "profile", "comment")
#: ``choice``: one code from a scale; ``multi``: several options, stored as one yes/no
#: sub-item per option; ``text``: free text (only the comment).
TYPES = ("choice", "multi", "text")
LEVELS = ("overall", "aspect", "element")
SCORING_METHODS = ("top2box", "mean_score")

#: The code a "cannot judge" answer is stored as; it counts as missing for the item.
NOT_APPLICABLE_CODE = 0
#: Sub-items of a ``multi`` question: 1 = chosen, 2 = not chosen (when any option was chosen).
CHOSEN, NOT_CHOSEN = 1, 2


@dataclass(frozen=True)
class Label:
    """A text in Vietnamese and English."""

    vi: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


@dataclass(frozen=True)
class Option:
    code: int
    label: Label


@dataclass(frozen=True)
class Scale:
    """Answer options; codes are what is stored, labels what is shown."""

    code: str
    options: tuple[Option, ...]

    # Cached: every submitted answer is checked against these.
    @cached_property
    def codes(self) -> tuple[int, ...]:
        return tuple(o.code for o in self.options)

    def option(self, code: int) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Item:
    """One question. ``codes`` are the values a stored answer may take."""

    code: str
    text: Label
    role: str
    type: str
    section: str
    scale: Scale | None = None
    required: bool = False
    not_applicable: Label | None = None
    max_length: int | None = None
    #: For perception items: the option codes whose share is reported (e.g. "Không có").
    report_options: tuple[int, ...] = ()
    short: Label | None = None

    @cached_property
    def codes(self) -> tuple[int, ...]:
        """Every code a stored answer to this item may hold."""
        if self.type == "multi":
            return (CHOSEN, NOT_CHOSEN)
        if self.scale is None:
            return ()
        extra = (NOT_APPLICABLE_CODE,) if self.not_applicable else ()
        return extra + self.scale.codes

    def sub_items(self) -> tuple[str, ...]:
        """The stored item codes: itself, or one per option for a ``multi`` question."""
        if self.type == "multi" and self.scale is not None:
            return tuple(f"{self.code}_{c}" for c in self.scale.codes)
        if self.type == "text":
            return ()
        return (self.code,)


@dataclass(frozen=True)
class Section:
    code: str
    title: Label
    items: tuple[Item, ...]
    intro: Label | None = None


@dataclass(frozen=True)
class IndexNode:
    """A node of the index tree: the overall index, an aspect or an element."""

    code: str
    label: Label
    level: str
    children: tuple[IndexNode, ...] = ()
    items: tuple[str, ...] = ()

    def walk(self) -> Iterator[IndexNode]:
        """This node and every node below it, parents first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def leaf_items(self) -> tuple[str, ...]:
        """Every item code under this node, in tree order."""
        return tuple(code for node in self.walk() for code in node.items)


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire version. Build it with :func:`questionnaires.load`."""

    id: str
    version: int
    title: Label
    scoring_method: str
    #: Share of satisfaction items that must be answered for a response to be valid.
    validity_min_share: float
    scales: Mapping[str, Scale]
    sections: tuple[Section, ...]
    index: IndexNode
    #: The mapping the questionnaire was built from, as stored in the database.
    content: Mapping[str, Any] = field(repr=False, compare=False)
    content_hash: str = ""
    source: str = ""
    intro: Label | None = None

    @cached_property
    def items(self) -> dict[str, Item]:
        """Every question in display order, by code (treat as read-only)."""
        return {item.code: item for section in self.sections for item in section.items}

    def items_with_role(self, role: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items.values() if i.role == role)

    @cached_property
    def satisfaction_items(self) -> tuple[Item, ...]:
        return self.items_with_role("satisfaction")

    @property
    def comment_item(self) -> Item | None:
        found = self.items_with_role("comment")
        return found[0] if found else None

    def answer_columns(self) -> tuple[str, ...]:
        """Stored item codes in display order: the item columns of the wide format."""
        return tuple(code for item in self.items.values() for code in item.sub_items())

    def stored_item(self, code: str) -> Item | None:
        """The question a stored item code belongs to (a ``multi`` sub-item maps to its parent)."""
        items = self.items
        if code in items:
            return items[code] if items[code].type != "multi" else None
        parent, _, option = code.rpartition("_")
        item = items.get(parent)
        if item is not None and item.type == "multi" and option.isdigit() and item.scale:
            return item if int(option) in item.scale.codes else None
        return None

    @property
    def key(self) -> str:
        return f"{self.id} v{self.version}"
