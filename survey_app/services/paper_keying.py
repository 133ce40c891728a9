"""Paper forms of the province's survey: keying order, double entry by two clerks, settling the
differences, importing keyed files; a settled form is stored through the one intake.

A form counts (is a stored response, channel ``paper``) only once it is settled: two clerks
keyed the same answers, or a third clerk chose where they differ, or it came in a keyed file
(whose own double entry was done elsewhere). Each stored paper response carries the stratum,
cluster, weight and fpc of its drawn unit (a :class:`PaperForm` row written by an after-store
hook of the intake, in the response's own transaction).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

import questionnaires
from questionnaires import Item, Problem, Questionnaire

from ..models import Desk, Officer, PaperForm, PaperKeying, SamplePlan, SampleUnit
from . import intake, sample_plans
from .integrity import Circumstances
from .questionnaire_store import current_version
from .sample_plans import PlanError, form_code

#: Namespace of the UUID a paper form is stored under: one response per plan and form number,
#: however often it is settled or imported.
PAPER_NAMESPACE = uuid.UUID("7d3f0a52-3c61-4f0e-9a4e-5b1f0c2d9e11")
CHANNEL = "paper"
#: Columns of the wide format that an import reads past (SIPAS.md §7), besides the items.
SYSTEM_COLUMNS = frozenset(
    {
        "response_id", "submitted_at", "unit_code", "desk_code", "service_code", "channel",
        "questionnaire", "questionnaire_version", "valid", "flags", "stratum", "cluster", "fpc",
    }
)  # fmt: skip
FORM_COLUMN = "form_number"
WEIGHT_COLUMN = "weight"
MAX_IMPORT_ROWS = 200_000
FORM_CODE = re.compile(r"^(?:KH(\d+)-)?0*(\d{1,9})$")


class KeyingRefused(ValueError):
    """A keying breaks a rule of double entry (the message says which, in Vietnamese)."""

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


# -- the keying order: one definition for the page, its script, the PDF and the server --------


@dataclass(frozen=True)
class KeyField:
    """One answer box of the paper form, in keying order."""

    code: str
    kind: str  # choice | multi | text
    label: str
    section: str
    section_title: str
    codes: tuple[int, ...] = ()
    options: tuple[tuple[int, str], ...] = ()
    required: bool = False
    max_length: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "codes": list(self.codes),
            "required": self.required,
            "max": self.max_length,
        }


def keying_fields(questionnaire: Questionnaire) -> tuple[KeyField, ...]:
    """The answer boxes of the form in the order they are printed and keyed."""
    out = []
    for section in questionnaire.sections:
        for item in section.items:
            options = tuple((o.code, o.label.vi) for o in item.scale.options) if item.scale else ()
            if item.not_applicable is not None:
                options = ((0, item.not_applicable.vi), *options)
            out.append(
                KeyField(
                    code=item.code,
                    kind=item.type,
                    label=item.text.vi,
                    section=section.code,
                    section_title=section.title.vi,
                    codes=tuple(c for c, _label in options),
                    options=options,
                    required=item.required,
                    max_length=item.max_length,
                )
            )
    return tuple(out)


# -- reading keyed values ----------------------------------------------------------------------


def normalise(questionnaire: Questionnaire, keyed: Mapping[str, Any]) -> dict[str, Any]:
    """Keyed boxes (text as typed: ``"4"``, ``"136"`` for a multi question, the comment) as the
    intake reads them; blanks are left out. Unknown boxes are kept, so the intake names them."""
    out: dict[str, Any] = {}
    items = questionnaire.items
    for code, value in keyed.items():
        item = items.get(code)
        if value is None:
            continue
        if item is not None and item.type == "multi":
            if isinstance(value, list | tuple):
                chosen = [str(v).strip() for v in value if str(v).strip()]
            else:
                text = str(value).strip()
                chosen = re.split(r"[\s,;]+", text) if re.search(r"[\s,;]", text) else list(text)
            if chosen:
                out[code] = sorted({int(c) if c.isdigit() else c for c in chosen}, key=str)
            continue
        text = value.strip() if isinstance(value, str) else str(value)
        if text == "":
            continue
        if item is not None and item.type == "text":
            out[code] = text
        else:
            out[code] = int(text) if text.isdigit() and len(text) <= 9 else text
    return out


def problem_text(questionnaire: Questionnaire, problem: Problem) -> str:
    """A problem of the intake's check as a clerk reads it (Vietnamese, naming the item)."""
    item = questionnaire.items.get(problem.item)
    if problem.kind == "out_of_range" and item is not None:
        codes = item.codes if item.type != "multi" else (item.scale.codes if item.scale else ())
        return (
            f"{problem.item}: {problem.value} ngoài thang trả lời "
            f"(chỉ nhận {', '.join(str(c) for c in codes)})"
        )
    words = {
        "missing": "bắt buộc, không được bỏ trống",
        "not_a_code": f"“{problem.value}” không phải mã trả lời",
        "unknown_item": "không phải mã câu hỏi của phiếu này",
        "too_long": f"dài quá ({problem.value} ký tự)",
        "invalid_characters": "có ký tự không hợp lệ",
    }
    return f"{problem.item}: {words.get(problem.kind, problem.kind)}"


def check(
    questionnaire: Questionnaire, answers: Mapping[str, Any]
) -> tuple[questionnaires.CheckedAnswers, list[str]]:
    """The intake's own check, worded for clerks: (checked answers, problems)."""
    checked = questionnaires.check_answers(questionnaire, answers)
    return checked, [problem_text(questionnaire, p) for p in checked.problems]


# -- storing a settled form through the intake ----------------------------------------------


@dataclass
class _Context:
    """What storing many forms of one plan needs once: the version and each stratum's desk."""

    session: Session
    plan: SamplePlan
    version: Any
    desks: dict[str, Desk] = field(default_factory=dict)

    def desk(self, stratum: str) -> Desk:
        found = self.desks.get(stratum)
        if found is None:
            stratum_row = next(s for s in self.plan.strata if s.stratum == stratum)
            found = sample_plans.stratum_desk(self.session, stratum_row.unit_id)
            if found is None:
                raise PlanError(
                    f"Đơn vị “{stratum}” không còn quầy nào hoạt động để lưu phiếu.",
                    rule="no_desk",
                )
            self.desks[stratum] = found
        return found


def context(session: Session, plan: SamplePlan) -> _Context:
    return _Context(session, plan, current_version(session, plan.questionnaire))


def form_uuid(plan_id: int, form_number: int) -> uuid.UUID:
    return uuid.uuid5(PAPER_NAMESPACE, f"{plan_id}:{form_number}")


def _store(
    ctx: _Context,
    unit: SampleUnit,
    answers: Mapping[str, Any] | intake.Checked,
    *,
    source: str,
    settled_by: Officer | None,
    weight: float | None = None,
    pending: list[dict[str, Any]] | None = None,
) -> intake.StoredResponse | None:
    """Store one settled form through the intake; its design goes in the same transaction:
    written by the hook at once, or, with ``pending``, collected there for the caller to
    write in one statement before it commits (an import of thousands of forms)."""
    checked = answers if isinstance(answers, intake.Checked) else intake.check(ctx.version, answers)
    design = {
        "plan_id": ctx.plan.id,
        "form_number": unit.form_number,
        "stratum": unit.stratum,
        "cluster": unit.cluster,
        "weight": unit.weight if weight is None else weight,
        "fpc": unit.fpc,
        "source": source,
        "settled_by_id": settled_by.id if settled_by is not None else None,
    }

    def record_design(connection: Connection, stored: intake.StoredResponse) -> None:
        row = {**design, "response_id": stored.id, "settled_at": stored.submitted_at}
        if pending is not None:
            pending.append(row)
        else:
            connection.execute(insert(PaperForm), [row])

    received = intake.Received(
        uuid=form_uuid(ctx.plan.id, unit.form_number),
        checked=checked,
        channel=CHANNEL,
        # Paper has no timing: no integrity rule can judge it (a keying clerk's speed is not
        # the respondent's).
        circumstances=Circumstances(duration_seconds=None, min_seconds=0),
    )
    return intake.store(
        intake.InSession(ctx.session, ctx.desk(unit.stratum)), received, also=(record_design,)
    )


# -- double entry ----------------------------------------------------------------------------


def parse_form_number(plan: SamplePlan, text: str) -> int | None:
    """``123``, ``00123`` or the printed ``KH7-00123`` (this plan's only) as a form number."""
    found = FORM_CODE.match(text.strip().upper())
    if found is None or (found.group(1) is not None and int(found.group(1)) != plan.id):
        return None
    return int(found.group(2))


def sample_unit(session: Session, plan: SamplePlan, form_number: int) -> SampleUnit | None:
    return session.scalar(
        select(SampleUnit).where(
            SampleUnit.plan_id == plan.id, SampleUnit.form_number == form_number
        )
    )


def _settled(session: Session, plan: SamplePlan, form_number: int) -> bool:
    return (
        session.scalar(
            select(PaperForm.id).where(
                PaperForm.plan_id == plan.id, PaperForm.form_number == form_number
            )
        )
        is not None
    )


@dataclass(frozen=True)
class KeyOutcome:
    """``first`` (waits for a second clerk), ``agreed`` (stored) or ``differs`` (to settle)."""

    status: str
    form_number: int
    differences: tuple[str, ...] = ()


def key_form(
    session: Session, plan: SamplePlan, form_number: int, clerk: Officer, keyed: Mapping[str, Any]
) -> KeyOutcome:
    """Record one clerk's keying of a form (no commit).

    Raises :class:`KeyingRefused` (a form number not in the plan, keyed twice by the same
    clerk, keyed twice already, or settled) and :class:`intake.InvalidAnswers`-like problems as
    :class:`KeyingRefused` with ``rule="answers"`` (a value outside its scale, …). When this is
    the second keying and it equals the first, the form is settled and stored at once.
    """
    questionnaire = questionnaires.get(plan.questionnaire)
    unit = sample_unit(session, plan, form_number)
    code = form_code(plan.id, form_number)
    if unit is None:
        raise KeyingRefused(
            f"Phiếu số {form_number} không có trong mẫu của kế hoạch này.", rule="unknown_form"
        )
    answers = normalise(questionnaire, keyed)
    _checked, problems = check(questionnaire, answers)
    if problems:
        raise KeyingRefused("; ".join(problems), rule="answers")
    earlier = list(
        session.scalars(
            select(PaperKeying)
            .where(PaperKeying.plan_id == plan.id, PaperKeying.form_number == form_number)
            .order_by(PaperKeying.id)
        )
    )
    if any(k.clerk_id == clerk.id for k in earlier):
        raise KeyingRefused(
            f"Phiếu {code} đã được chính Ông/Bà nhập: mỗi phiếu do hai người khác nhau nhập.",
            rule="same_clerk_twice",
        )
    if _settled(session, plan, form_number):
        raise KeyingRefused(f"Phiếu {code} đã được chốt và lưu.", rule="settled")
    if len(earlier) >= 2:
        raise KeyingRefused(
            f"Phiếu {code} đã được nhập đủ hai lần; chênh lệch do người thứ ba xử lý.",
            rule="keyed_twice",
        )
    session.add(
        PaperKeying(plan_id=plan.id, form_number=form_number, clerk_id=clerk.id, answers=answers)
    )
    session.flush()
    if not earlier:
        return KeyOutcome("first", form_number)
    differing = differing_items(earlier[0].answers, answers, keying_order(questionnaire))
    if differing:
        return KeyOutcome("differs", form_number, tuple(differing))
    _store(context(session, plan), unit, answers, source="agreed", settled_by=None)
    return KeyOutcome("agreed", form_number)


def differing_items(
    a: Mapping[str, Any], b: Mapping[str, Any], order: Mapping[str, int] | None = None
) -> list[str]:
    """The items keyed differently, in keying order (``order``: item code → position)."""
    codes = [code for code in dict.fromkeys([*a, *b]) if a.get(code) != b.get(code)]
    if order is not None:
        codes.sort(key=lambda code: order.get(code, len(order)))
    return codes


def keying_order(questionnaire: Questionnaire) -> dict[str, int]:
    return {code: position for position, code in enumerate(questionnaire.items)}


@dataclass(frozen=True)
class Difference:
    item: str
    first: Any
    second: Any


@dataclass(frozen=True)
class FormDifferences:
    """A form keyed twice with different answers: who keyed it and where they differ."""

    form_number: int
    code: str
    clerks: tuple[int, int]
    clerk_names: tuple[str, str]
    differences: tuple[Difference, ...]


def differences(session: Session, plan: SamplePlan) -> list[FormDifferences]:
    """Every form keyed twice, differently, and not yet settled (one query for all)."""
    settled = set(
        session.scalars(select(PaperForm.form_number).where(PaperForm.plan_id == plan.id))
    )
    rows = session.execute(
        select(PaperKeying, Officer.username)
        .join(Officer, Officer.id == PaperKeying.clerk_id)
        .where(PaperKeying.plan_id == plan.id)
        .order_by(PaperKeying.form_number, PaperKeying.id)
    ).all()
    by_form: dict[int, list[tuple[PaperKeying, str]]] = {}
    for keying, name in rows:
        if keying.form_number not in settled:
            by_form.setdefault(keying.form_number, []).append((keying, name))
    order = keying_order(questionnaires.get(plan.questionnaire))
    out = []
    for number, pair in by_form.items():
        if len(pair) < 2:
            continue
        (a, name_a), (b, name_b) = pair[0], pair[1]
        items = differing_items(a.answers, b.answers, order)
        if items:
            out.append(
                FormDifferences(
                    number,
                    form_code(plan.id, number),
                    (a.clerk_id, b.clerk_id),
                    (name_a, name_b),
                    tuple(Difference(i, a.answers.get(i), b.answers.get(i)) for i in items),
                )
            )
    return out


@dataclass(frozen=True)
class SettleReport:
    settled: tuple[int, ...]
    problems: dict[int, list[str]]


def settle(
    session: Session,
    plan: SamplePlan,
    chosen: Mapping[int, Mapping[str, str]],
    clerk: Officer,
) -> SettleReport:
    """Settle forms: for each form number, the value the third clerk read on the paper for
    every differing item (blank = not answered). A form whose differences are not all given
    is left as it is; the third clerk must be neither of its two keyers. No commit."""
    questionnaire = questionnaires.get(plan.questionnaire)
    listed = {d.form_number: d for d in differences(session, plan)}
    ctx = context(session, plan)
    wanted = sorted(set(chosen) & set(listed))
    # The first keying and the drawn unit of every form settled, in two queries (a page of
    # differences settles up to a thousand forms at once).
    first_keyed: dict[int, dict[str, Any]] = {}
    for number, answers in session.execute(
        select(PaperKeying.form_number, PaperKeying.answers)
        .where(PaperKeying.plan_id == plan.id, PaperKeying.form_number.in_(wanted))
        .order_by(PaperKeying.id.desc())
    ):
        first_keyed[number] = answers  # descending ids: the first keying is written last
    units = {
        u.form_number: u
        for u in session.scalars(
            select(SampleUnit).where(
                SampleUnit.plan_id == plan.id, SampleUnit.form_number.in_(wanted)
            )
        )
    }
    done: list[int] = []
    problems: dict[int, list[str]] = {}
    for number, values in chosen.items():
        form = listed.get(number)
        if form is None:
            problems[number] = ["không có chênh lệch nào chờ xử lý cho phiếu này"]
            continue
        if clerk.id in form.clerks:
            problems[number] = [
                "người chốt phải là người thứ ba, không phải một trong hai người đã nhập"
            ]
            continue
        if any(d.item not in values for d in form.differences):
            continue  # not every difference decided yet: left for later
        merged: dict[str, Any] = dict(first_keyed.get(number) or {})
        for d in form.differences:
            merged.pop(d.item, None)
        decided = normalise(questionnaire, {d.item: values[d.item] for d in form.differences})
        merged.update(decided)
        _checked, found = check(questionnaire, merged)
        if found:
            problems[number] = found
            continue
        _store(ctx, units[number], merged, source="settled", settled_by=clerk)
        done.append(number)
    return SettleReport(tuple(done), problems)


# -- importing keyed files ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    row: int
    form: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    rows: int
    stored: int
    already: int
    rejected: tuple[Rejected, ...]


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """A keyed file (CSV or XLSX) as text cells indexed by spreadsheet row number."""
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
        elif name.endswith(".csv"):
            text = data.decode("utf-8-sig")
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, sep=dialect.delimiter, keep_default_na=False
            )
        else:
            raise PlanError("Tệp phiếu đã nhập phải là .csv hoặc .xlsx.", rule="file_type")
    except PlanError:
        raise
    except (ValueError, UnicodeDecodeError, csv.Error, OSError, KeyError) as error:
        raise PlanError(f"Không đọc được tệp {filename}: {error}", rule="unreadable") from error
    if len(frame) > MAX_IMPORT_ROWS:
        raise PlanError(f"Tệp có {len(frame)} dòng, quá giới hạn {MAX_IMPORT_ROWS}.", rule="rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame.fillna("")


def _column_plan(questionnaire: Questionnaire, columns: Iterable[str]) -> dict[str, Item]:
    """Which question each column answers; a column that is neither an item nor a system
    column refuses the whole file (a misspelt item must not vanish silently)."""
    items = questionnaire.items
    out: dict[str, Item] = {}
    for column in columns:
        if column in (FORM_COLUMN, WEIGHT_COLUMN) or column in SYSTEM_COLUMNS:
            continue
        item = items.get(column) or questionnaire.stored_item(column)
        if item is None:
            raise PlanError(
                f"Cột “{column}” không phải mã câu hỏi của phiếu {questionnaire.id}.",
                rule="unknown_column",
            )
        out[column] = item
    return out


def _row_answers(
    record: Mapping[str, str], columns: Mapping[str, Item]
) -> tuple[dict[str, Any], list[str]]:
    answers: dict[str, Any] = {}
    chosen: dict[str, list[str]] = {}
    problems: list[str] = []
    for column, item in columns.items():
        value = str(record[column]).strip()
        if value == "" or value.lower() == "nan":
            continue
        if item.type == "multi" and column != item.code:  # a sub-item column: 1 chosen, 2 not
            option = column.rpartition("_")[2]
            if value == "1":
                chosen.setdefault(item.code, []).append(option)
            elif value != "2":
                problems.append(f"{column}: “{value}” phải là 1 (có chọn) hoặc 2 (không chọn)")
            else:
                chosen.setdefault(item.code, [])
            continue
        answers[column] = value
    for code, options in chosen.items():
        if options:
            answers[code] = options
    return answers, problems


def import_file(session: Session, plan: SamplePlan, data: bytes, filename: str) -> ImportReport:
    """Store every acceptable row of a keyed file through the intake (no commit); report each
    rejected row with its reasons. Rows already stored (this file imported before, or the form
    settled by keying) are counted, never stored twice."""
    table = read_table(data, filename)
    if FORM_COLUMN not in table.columns:
        raise PlanError(f"Tệp thiếu cột “{FORM_COLUMN}” (số phiếu).", rule="missing_column")
    questionnaire = questionnaires.get(plan.questionnaire)
    columns = _column_plan(questionnaire, table.columns)
    units = {
        u.form_number: u
        for u in session.scalars(select(SampleUnit).where(SampleUnit.plan_id == plan.id))
    }
    stored_already = set(
        session.scalars(select(PaperForm.form_number).where(PaperForm.plan_id == plan.id))
    )
    ctx = context(session, plan)
    seen: dict[int, int] = {}
    designs: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    stored = already = 0
    has_weight = WEIGHT_COLUMN in table.columns
    names = [str(c) for c in table.columns]
    # Plain lists of str: much faster to walk than DataFrame rows (pandas boxes every cell).
    records = [dict(zip(names, values, strict=True)) for values in table.to_numpy(str).tolist()]
    for row, record in zip(table.index, records, strict=True):
        shown = str(record[FORM_COLUMN]).strip()
        number = parse_form_number(plan, shown)
        if number is None or number not in units:
            rejected.append(
                Rejected(int(row), shown, f"số phiếu “{shown}” không có trong mẫu của kế hoạch")
            )
            continue
        if number in seen:
            rejected.append(
                Rejected(int(row), shown, f"số phiếu đã có ở dòng {seen[number]} của tệp")
            )
            continue
        seen[number] = int(row)
        if number in stored_already:
            already += 1
            continue
        weight: float | None = None
        if has_weight and str(record[WEIGHT_COLUMN]).strip() != "":
            text = str(record[WEIGHT_COLUMN]).strip().replace(",", ".")
            try:
                weight = float(text)
            except ValueError:
                weight = float("nan")
            if not weight > 0 or weight == float("inf"):
                rejected.append(
                    Rejected(int(row), shown, f"trọng số “{text}” phải là số lớn hơn 0")
                )
                continue
        answers, problems = _row_answers(record, columns)
        # A multi-choice question in one column ("136") reads as the keying page reads it.
        answers = normalise(questionnaire, answers)
        try:
            checked = intake.check(ctx.version, answers)
        except intake.InvalidAnswers as invalid:
            problems += [problem_text(questionnaire, p) for p in invalid.checked.problems]
        if problems:
            rejected.append(Rejected(int(row), shown, "; ".join(problems)))
            continue
        _store(
            ctx,
            units[number],
            checked,
            source="imported",
            settled_by=None,
            weight=weight,
            pending=designs,
        )
        stored_already.add(number)
        stored += 1
    if designs:
        session.execute(insert(PaperForm), designs)
    return ImportReport(len(table), stored, already, tuple(rejected))


# -- progress ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    drawn: int
    keyed_once: int
    to_settle: int
    settled: int


def progress(session: Session, plan: SamplePlan) -> Progress:
    """How far the keying is: forms drawn, keyed once, waiting for a third clerk, settled."""
    settled = set(
        session.scalars(select(PaperForm.form_number).where(PaperForm.plan_id == plan.id))
    )
    counts: dict[int, int] = {}
    for number in session.scalars(
        select(PaperKeying.form_number).where(PaperKeying.plan_id == plan.id)
    ):
        counts[number] = counts.get(number, 0) + 1
    total = sum(s.n_drawn for s in plan.strata)
    return Progress(
        drawn=total,
        keyed_once=sum(1 for n, c in counts.items() if c == 1 and n not in settled),
        to_settle=sum(1 for n, c in counts.items() if c >= 2 and n not in settled),
        settled=len(settled),
    )
