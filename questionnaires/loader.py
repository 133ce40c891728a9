"""Read and validate questionnaire files; each problem is one QuestionnaireError saying the fix."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .model import (
    LEVELS,
    NOT_APPLICABLE_CODE,
    ROLES,
    SCORING_METHODS,
    TYPES,
    IndexNode,
    Item,
    Label,
    Option,
    Questionnaire,
    Scale,
    Section,
)

DIRECTORY = Path(__file__).parent
CODE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,31}$")


class QuestionnaireError(ValueError):
    """A questionnaire file is not usable. The message names the file, the place and the fix."""

    def __init__(self, source: str, where: str, problem: str, fix: str = "") -> None:
        self.source, self.where, self.problem, self.fix = source, where, problem, fix
        message = f"{source}, {where}: {problem}" if where else f"{source}: {problem}"
        super().__init__(f"{message}. {fix}".rstrip() if fix else message)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a questionnaire must not."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f'key "{key}" appears twice', key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def available() -> dict[str, Path]:
    """The questionnaire files shipped with the package, by id."""
    return {path.stem: path for path in sorted(DIRECTORY.glob("*.yaml"))}


@cache
def get(questionnaire_id: str) -> Questionnaire:
    """The current version of a shipped questionnaire (validated once, then cached)."""
    files = available()
    if questionnaire_id not in files:
        known = ", ".join(files)
        raise QuestionnaireError(
            questionnaire_id, "", "no such questionnaire", f"Use one of: {known}."
        )
    return load(files[questionnaire_id])


def load(path: str | Path) -> Questionnaire:
    """Read and validate one questionnaire file."""
    path = Path(path)
    source = _display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuestionnaireError(source, "", "file not found", "Check the path.") from None
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(
            source, f"byte {exc.start}", "the file is not UTF-8", "Save it as UTF-8."
        ) from None
    try:
        content = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise QuestionnaireError(
            source, where, f"not valid YAML ({problem})", "Fix the syntax at that line."
        ) from None
    questionnaire = from_mapping(content, source=source)
    if questionnaire.id != path.stem:
        raise QuestionnaireError(
            source,
            "id",
            f'the file declares id "{questionnaire.id}" but is named "{path.name}"',
            f'Rename the file to "{questionnaire.id}.yaml" or change the id.',
        )
    return questionnaire


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a questionnaire: equal content, equal hash."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def from_mapping(content: Any, *, source: str = "<questionnaire>") -> Questionnaire:
    """Validate a parsed questionnaire (from a file or from the database)."""
    return _Builder(source).build(content)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(DIRECTORY.parent.resolve()))
    except ValueError:
        return str(path)


class _Builder:
    """Walks the parsed mapping once, raising at the first problem with its place."""

    TOP_KEYS = {"id", "version", "title", "intro", "scoring", "scales", "sections", "index"}
    SCALE_KEYS = {"options"}
    OPTION_KEYS = {"code", "vi", "en"}
    SECTION_KEYS = {"code", "title", "intro", "items"}
    ITEM_KEYS = {
        "code",
        "text",
        "short",
        "role",
        "type",
        "scale",
        "options",
        "required",
        "not_applicable",
        "max_length",
        "report_options",
    }
    NODE_KEYS = {"code", "label", "level", "children", "items"}
    SCORING_KEYS = {"method", "valid_if_answered_share"}

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str, fix: str = "") -> QuestionnaireError:
        return QuestionnaireError(self.source, where, problem, fix)

    # -- building blocks ---------------------------------------------------------------

    def mapping(
        self, value: Any, where: str, allowed: set[str], required: set[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, found {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(
                where,
                f'unknown key "{unknown[0]}"',
                f"Allowed keys: {', '.join(sorted(allowed))}. Check the spelling; inside {{…}} "
                "put quotes around a text that contains a comma.",
            )
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(where, f'"{missing[0]}" is missing', f'Add "{missing[0]}".')
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "must be a non-empty text", "Write the text.")
        if unicodedata.normalize("NFC", value) != value:
            raise self.fail(
                where,
                "text is not NFC-normalised Unicode (decomposed Vietnamese diacritics)",
                "Re-save the file with precomposed (NFC) characters.",
            )
        return value

    def label(self, value: Any, where: str) -> Label:
        if isinstance(value, str):
            raise self.fail(where, "needs both languages", "Write it as {vi: …, en: …}.")
        value = self.mapping(value, where, {"vi", "en"}, set())
        for lang, name in (("vi", "Vietnamese"), ("en", "English")):
            if lang not in value:
                raise self.fail(
                    where, f'label "{lang}" is missing', f"Add the {name} text under {lang}."
                )
        return Label(
            vi=self.text(value["vi"], f"{where}.vi"), en=self.text(value["en"], f"{where}.en")
        )

    def code(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not CODE_PATTERN.match(value):
            raise self.fail(
                where,
                f"code {value!r} is not valid",
                "Use a letter then letters, digits, '_', '.' or '-' (at most 32).",
            )
        return value

    def options(self, value: Any, where: str) -> tuple[Option, ...]:
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail(where, "needs a list of at least two options", "List the options.")
        options: list[Option] = []
        for i, raw in enumerate(value):
            here = f"{where}[{i + 1}]"
            raw = self.mapping(raw, here, self.OPTION_KEYS, self.OPTION_KEYS)
            code = raw["code"]
            if not isinstance(code, int) or isinstance(code, bool) or code < 1 or code > 99:
                raise self.fail(
                    here,
                    f"option code {code!r} is not a whole number from 1 to 99",
                    f"Code {NOT_APPLICABLE_CODE} is reserved for 'cannot judge'.",
                )
            if any(o.code == code for o in options):
                raise self.fail(here, f"option code {code} appears twice", "Give it its own code.")
            options.append(Option(code, self.label({"vi": raw["vi"], "en": raw["en"]}, here)))
        return tuple(options)

    # -- the questionnaire ---------------------------------------------------------------

    def build(self, content: Any) -> Questionnaire:
        top = self.mapping(
            content, "top level", self.TOP_KEYS, {"id", "version", "title", "sections", "index"}
        )
        qid = self.code(top["id"], "id")
        version = top["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail("version", f"version {version!r} is not a whole number ≥ 1")
        scoring = self.mapping(top.get("scoring", {}), "scoring", self.SCORING_KEYS, set())
        method = scoring.get("method", "top2box")
        if method not in SCORING_METHODS:
            raise self.fail(
                "scoring.method",
                f'unknown scoring method "{method}"',
                f"Use one of: {', '.join(SCORING_METHODS)}.",
            )
        share = scoring.get("valid_if_answered_share", 0.5)
        if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
            raise self.fail("scoring.valid_if_answered_share", "must be a number from 0 to 1")

        scales = self.scales(top.get("scales", {}))
        sections = self.sections(top["sections"], scales)
        items = {item.code: item for section in sections for item in section.items}
        index = self.index(top["index"], items)
        return Questionnaire(
            id=qid,
            version=version,
            title=self.label(top["title"], "title"),
            intro=self.label(top["intro"], "intro") if "intro" in top else None,
            scoring_method=method,
            validity_min_share=float(share),
            scales=scales,
            sections=sections,
            index=index,
            content=content,
            content_hash=content_hash(content),
            source=self.source,
        )

    def scales(self, value: Any) -> dict[str, Scale]:
        if not isinstance(value, dict):
            raise self.fail("scales", "expected a mapping of scale name to options")
        scales = {}
        for name, raw in value.items():
            where = f'scale "{name}"'
            self.code(name, where)
            raw = self.mapping(raw, where, self.SCALE_KEYS, self.SCALE_KEYS)
            scales[name] = Scale(name, self.options(raw["options"], f"{where}.options"))
        return scales

    def sections(self, value: Any, scales: dict[str, Scale]) -> tuple[Section, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("sections", "needs a list of at least one section")
        sections: list[Section] = []
        seen_items: set[str] = set()
        seen_sections: set[str] = set()
        for i, raw in enumerate(value):
            where = f"section {i + 1}"
            raw = self.mapping(raw, where, self.SECTION_KEYS, {"code", "title", "items"})
            code = self.code(raw["code"], f"{where}.code")
            where = f'section "{code}"'
            if code in seen_sections:
                raise self.fail(where, "section code appears twice", "Give each its own code.")
            seen_sections.add(code)
            if not isinstance(raw["items"], list) or not raw["items"]:
                raise self.fail(where, "needs a list of at least one item")
            items = []
            for raw_item in raw["items"]:
                item = self.item(raw_item, code, scales)
                clash = {item.code, *item.sub_items()} & seen_items
                if clash:
                    raise self.fail(
                        f'item "{item.code}"', "item code appears twice", "Give each its own code."
                    )
                seen_items.update({item.code, *item.sub_items()})
                items.append(item)
            sections.append(
                Section(
                    code=code,
                    title=self.label(raw["title"], f"{where}.title"),
                    intro=self.label(raw["intro"], f"{where}.intro") if "intro" in raw else None,
                    items=tuple(items),
                )
            )
        comments = [i for s in sections for i in s.items if i.role == "comment"]
        if len(comments) > 1:
            raise self.fail(
                f'item "{comments[1].code}"', "a questionnaire has at most one comment item"
            )
        return tuple(sections)

    def item(self, raw: Any, section: str, scales: dict[str, Scale]) -> Item:
        code = raw.get("code") if isinstance(raw, dict) else None
        where = f'item "{code}"' if isinstance(code, str) else f'an item of section "{section}"'
        raw = self.mapping(raw, where, self.ITEM_KEYS, {"code", "text", "role"})
        code = self.code(raw["code"], where)
        role = raw["role"]
        if role not in ROLES:
            raise self.fail(where, f'unknown role "{role}"', f"Use one of: {', '.join(ROLES)}.")
        kind = raw.get("type", "text" if role == "comment" else "choice")
        if kind not in TYPES:
            raise self.fail(where, f'unknown type "{kind}"', f"Use one of: {', '.join(TYPES)}.")
        if (role == "comment") != (kind == "text"):
            raise self.fail(where, 'only the item with role "comment" has type "text"')
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(where, "required must be true or false")

        scale = None
        if kind != "text":
            if ("scale" in raw) == ("options" in raw):
                raise self.fail(
                    where,
                    "needs exactly one of 'scale' (a named scale) or 'options'",
                    f"Named scales: {', '.join(scales) or 'none'}.",
                )
            if "scale" in raw:
                if raw["scale"] not in scales:
                    raise self.fail(
                        where,
                        f'unknown scale "{raw["scale"]}"',
                        f"Define it under scales or use one of: {', '.join(scales)}.",
                    )
                scale = scales[raw["scale"]]
            else:
                scale = Scale(f"{code}-options", self.options(raw["options"], f"{where}.options"))
        elif "scale" in raw or "options" in raw:
            raise self.fail(where, "a text item has no scale")

        not_applicable = None
        if "not_applicable" in raw:
            if kind != "choice":
                raise self.fail(where, "only a choice item can offer 'cannot judge'")
            not_applicable = self.label(raw["not_applicable"], f"{where}.not_applicable")

        if role in ("satisfaction", "overall", "question"):
            self.expect_scale(scale, where, role, "satisfaction-5", (1, 2, 3, 4, 5))
        if role == "expectation":
            self.expect_scale(scale, where, role, "desire-4", (1, 2, 3, 4))

        report_options: tuple[int, ...] = ()
        if "report_options" in raw:
            if role != "perception":
                raise self.fail(where, "report_options belongs to perception items only")
            report_options = tuple(raw["report_options"] or ())
            codes = scale.codes if scale else ()
            bad = [c for c in report_options if c not in codes]
            if not report_options or bad:
                raise self.fail(
                    where,
                    f"report_options {list(report_options)} are not codes of its options",
                    f"Choose from {list(codes)}.",
                )

        max_length = None
        if kind == "text":
            max_length = raw.get("max_length", 1000)
            if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
                raise self.fail(where, "max_length must be a whole number ≥ 1")
        elif "max_length" in raw:
            raise self.fail(where, "max_length belongs to the text item only")

        return Item(
            code=code,
            text=self.label(raw["text"], f"{where}.text"),
            short=self.label(raw["short"], f"{where}.short") if "short" in raw else None,
            role=role,
            type=kind,
            section=section,
            scale=scale,
            required=required,
            not_applicable=not_applicable,
            max_length=max_length,
            report_options=report_options,
        )

    def expect_scale(
        self, scale: Scale | None, where: str, role: str, name: str, codes: tuple[int, ...]
    ) -> None:
        if scale is None or scale.codes != codes:
            raise self.fail(
                where,
                f'a "{role}" item must use a {len(codes)}-level scale coded '
                f"{', '.join(map(str, codes))}",
                f'Use scale "{name}".',
            )

    def index(self, value: Any, items: dict[str, Item]) -> IndexNode:
        seen_nodes: set[str] = set()
        used: dict[str, str] = {}
        root = self.node(value, "index", items, seen_nodes, used, depth=0)
        if root.level != "overall":
            raise self.fail("index", 'the root of the index tree must have level "overall"')
        for item in items.values():
            if item.role == "satisfaction" and item.code not in used:
                raise self.fail(
                    f'item "{item.code}"',
                    "satisfaction item is not in the index tree",
                    "List it under the items of one element, or change its role.",
                )
        return root

    def node(
        self,
        raw: Any,
        where: str,
        items: dict[str, Item],
        seen: set[str],
        used: dict[str, str],
        depth: int,
    ) -> IndexNode:
        raw = self.mapping(raw, where, self.NODE_KEYS, {"code", "label"})
        code = self.code(raw["code"], f"{where}.code")
        where = f'index node "{code}"'
        if code in seen or code in items:
            raise self.fail(where, "node code is used twice (or also by an item)")
        seen.add(code)
        level = raw.get("level", "overall" if depth == 0 else "element")
        if level not in LEVELS:
            raise self.fail(where, f'unknown level "{level}"', f"Use one of: {', '.join(LEVELS)}.")
        if depth > 0 and level == "overall":
            raise self.fail(where, 'only the root node has level "overall"')
        if ("children" in raw) == ("items" in raw):
            raise self.fail(where, "needs exactly one of 'children' (nodes) or 'items' (codes)")
        if "items" in raw:
            if level != "element":
                raise self.fail(where, 'only an "element" node lists items')
            codes = raw["items"]
            if not isinstance(codes, list) or not codes:
                raise self.fail(where, "items must be a list of at least one item code")
            for code_ in codes:
                if code_ not in items:
                    raise self.fail(
                        where,
                        f'lists item "{code_}", which no section defines',
                        "Define the item in a section or correct the code.",
                    )
                if items[code_].role != "satisfaction" or items[code_].type != "choice":
                    raise self.fail(
                        where,
                        f'lists item "{code_}", which is not a satisfaction choice item',
                        'Only items with role "satisfaction" are scored.',
                    )
                if code_ in used:
                    raise self.fail(
                        where,
                        f'lists item "{code_}", which node "{used[code_]}" lists already',
                        "Score each item under one element only.",
                    )
                used[code_] = code
            return IndexNode(
                code, self.label(raw["label"], f"{where}.label"), level, (), tuple(codes)
            )
        if level == "element":
            raise self.fail(where, 'an "element" node lists items, not children')
        children_raw = raw["children"]
        if not isinstance(children_raw, list) or not children_raw:
            raise self.fail(where, "children must be a list of at least one node")
        children = tuple(
            self.node(c, f"{where}.children[{i + 1}]", items, seen, used, depth + 1)
            for i, c in enumerate(children_raw)
        )
        return IndexNode(code, self.label(raw["label"], f"{where}.label"), level, children, ())
