"""Units through time: which stored units make up today's unit for a period (the lineage), and
the recording of changes of the map (merge, split, rename, move) with their rules.

The one rule of the data: a response keeps the unit and desk it was given at; nothing here
rewrites a response. A report "for today's units" reads the stored units that make up each of
today's units (a merged commune = itself + its predecessors, through every earlier merge); a
report "as it was" reads each stored unit alone.

- merge: the ``from`` units end on the effective day; their data rolls into the ``to`` unit;
- split: the ``from`` unit ends; its data is not divided among the ``to`` units (it would be
  counted twice in the province), so a split unit's history stays under the split unit;
- rename: the same unit, another name from that day (the old one kept in the change);
- move: a unit to another parent, or a desk to another unit, from that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    RANKED_KINDS,
    SERVICE_POINT_KINDS,
    UNIT_KINDS,
    Desk,
    Officer,
    Unit,
    UnitChange,
    UnitChangeLink,
)

if TYPE_CHECKING:
    from .accounts import UnitTree

#: What an officer or the API asks for: today's map (predecessors rolled in) or the map as it was.
VIEWS = ("today", "as_it_was")


class UnitChangeError(ValueError):
    """A change of the map that breaks a rule; the message names the record and the rule."""


# -- reading: the lineage ---------------------------------------------------------------------


def merge_links(session: Session) -> dict[int, list[int]]:
    """successor id → the ids of the units merged into it (the links data rolls along)."""
    rows = session.execute(
        select(UnitChangeLink.change_id, UnitChangeLink.unit_id, UnitChangeLink.side)
        .join(UnitChange, UnitChange.id == UnitChangeLink.change_id)
        .where(UnitChange.kind == "merge")
        .order_by(UnitChangeLink.id)
    ).all()
    sides: dict[int, dict[str, list[int]]] = {}
    for change_id, unit_id, side in rows:
        sides.setdefault(change_id, {"from": [], "to": []})[side].append(unit_id)
    out: dict[int, list[int]] = {}
    for both in sides.values():
        for successor in both["to"]:
            out.setdefault(successor, []).extend(both["from"])
    return out


def stored_unit_ids(tree: UnitTree, unit_id: int) -> frozenset[int]:
    """The stored units whose responses make up today's unit ``unit_id``: the unit, every unit
    below it, and every unit merged into any of these (through every earlier merge)."""
    found: set[int] = set()
    stack = [unit_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(child.id for child in tree.children.get(current, ()))
        stack.extend(tree.predecessors.get(current, ()))
    return frozenset(found)


def unit_ids_for(tree: UnitTree, unit_id: int, view: str) -> frozenset[int]:
    """The stored units a report of ``unit_id`` reads: with its predecessors (``today``) or
    the unit and those below it as they were stored (``as_it_was``)."""
    if view == "as_it_was":
        return frozenset(tree.subtree_ids(unit_id))
    return stored_unit_ids(tree, unit_id)


def successors(tree: UnitTree) -> dict[int, int]:
    """merged unit id → the unit it was merged into."""
    return {old: new for new, olds in tree.predecessors.items() for old in olds}


def today_unit_id(tree: UnitTree, unit_id: int, _forward: dict[int, int] | None = None) -> int:
    """Today's unit a stored unit's responses count for: its merge successor (repeatedly); a
    unit that ended otherwise (split, dissolved) counts for its nearest parent of today."""
    forward = _forward if _forward is not None else successors(tree)
    seen: set[int] = set()
    current = unit_id
    while current not in seen:
        seen.add(current)
        unit = tree.units[current]
        if unit.valid_to is None:
            return current
        if current in forward:
            current = forward[current]
        elif unit.parent_id is not None:
            current = unit.parent_id
        else:
            return current
    return current


def today_codes(tree: UnitTree, unit_ids: Iterable[int]) -> dict[str, str]:
    """stored unit code → the code of today's unit it counts for."""
    forward = successors(tree)
    return {
        tree.units[i].code: tree.units[today_unit_id(tree, i, forward)].code
        for i in unit_ids
        if i in tree.units
    }


def exists_during(unit: Unit, first: date, last: date) -> bool:
    return (unit.valid_from is None or unit.valid_from <= last) and (
        unit.valid_to is None or unit.valid_to > first
    )


@dataclass(frozen=True)
class RolledIn:
    """What a report of today's unit says about the units whose data it includes."""

    #: Administrative units merged in that existed in the period (oldest change first).
    units: tuple[Unit, ...]
    #: Service points merged in (e.g. a former district's centre) that existed in the period.
    service_points: tuple[Unit, ...]

    def __bool__(self) -> bool:
        return bool(self.units or self.service_points)


def rolled_in(tree: UnitTree, unit_id: int, first: date, last: date) -> RolledIn:
    """The predecessors of ``unit_id`` (and of the service points below it) whose responses
    in ``first``–``last`` are counted for it: what the page lists under the scores."""
    own = tree.subtree_ids(unit_id)
    units: list[Unit] = []
    points: list[Unit] = []
    for stored in sorted(stored_unit_ids(tree, unit_id) - own):
        unit = tree.units[stored]
        if not exists_during(unit, first, last):
            continue
        (points if unit.kind in SERVICE_POINT_KINDS else units).append(unit)

    def key(unit: Unit) -> tuple[date, str]:
        return (unit.valid_to or date.max, unit.name)

    return RolledIn(tuple(sorted(units, key=key)), tuple(sorted(points, key=key)))


def rankable_codes(tree: UnitTree, view: str, first: date, last: date) -> set[str]:
    """Codes of the units that may be ranked in ``first``–``last``: communes, wards and special
    zones (and districts, in a district-era map) that existed then (today's view: themselves
    or a predecessor existed then), and provinces under a national instance (federation).
    Service points are never ranked."""
    kinds = (*RANKED_KINDS, "district", "province")
    out = set()
    for unit in tree.units.values():
        if unit.kind not in kinds:
            continue
        if unit.kind == "province":
            parent = tree.units.get(unit.parent_id) if unit.parent_id is not None else None
            if parent is None or parent.kind != "national":
                continue
        if view == "as_it_was":
            if exists_during(unit, first, last):
                out.add(unit.code)
        elif unit.valid_to is None and any(
            exists_during(tree.units[i], first, last)
            for i in stored_unit_ids(tree, unit.id)
            if tree.units[i].kind in kinds
        ):
            out.add(unit.code)
    return out


def today_subtree(tree: UnitTree, unit_id: int) -> set[int]:
    """The unit and the units below it that exist today (the map a today's report shows)."""
    return {i for i in tree.subtree_ids(unit_id) if tree.units[i].valid_to is None}


def changes_of(session: Session, unit: Unit) -> list[UnitChange]:
    """Every recorded change that names the unit, oldest first."""
    linked = select(UnitChangeLink.change_id).where(UnitChangeLink.unit_id == unit.id)
    query = (
        select(UnitChange)
        .where(
            (UnitChange.id.in_(linked))
            | (UnitChange.unit_id == unit.id)
            | (UnitChange.from_parent_id == unit.id)
            | (UnitChange.to_parent_id == unit.id)
        )
        .order_by(UnitChange.effective_on, UnitChange.id)
    )
    return list(session.scalars(query))


def all_changes(session: Session) -> Sequence[UnitChange]:
    return session.scalars(
        select(UnitChange).order_by(UnitChange.effective_on.desc(), UnitChange.id.desc())
    ).all()


# -- writing: recording a change ----------------------------------------------------------------


def _label(unit: Unit) -> str:
    return f"{unit.name} ({unit.code})"


def _check_exists_on(unit: Unit, day: date, what: str) -> None:
    """``unit`` must exist on ``day`` (it takes part in a change that day)."""
    if unit.valid_from is not None and unit.valid_from > day:
        raise UnitChangeError(
            f"{what}: {_label(unit)} chỉ có từ {unit.valid_from:%d/%m/%Y}, chưa tồn tại vào "
            f"{day:%d/%m/%Y} [quy tắc: không trùng lặp thời gian hiệu lực / rule: "
            "overlapping dates]"
        )
    if unit.valid_to is not None and unit.valid_to <= day:
        raise UnitChangeError(
            f"{what}: {_label(unit)} đã thôi tồn tại từ {unit.valid_to:%d/%m/%Y}, nên không "
            f"thể thay đổi vào {day:%d/%m/%Y} [quy tắc: không trùng lặp thời gian hiệu lực / "
            "rule: overlapping dates]"
        )


def _check_after_earlier_changes(session: Session, unit: Unit, day: date, what: str) -> None:
    """A unit's changes are recorded in time order: none may fall on or before a later one."""
    for change in changes_of(session, unit):
        if change.effective_on > day or (
            change.effective_on == day and change.kind in ("merge", "split")
        ):
            raise UnitChangeError(
                f"{what}: {_label(unit)} đã có thay đổi số {change.id} ({change.kind}) hiệu lực "
                f"{change.effective_on:%d/%m/%Y}, trùng hoặc sau ngày {day:%d/%m/%Y} [quy tắc: "
                "không trùng lặp thời gian hiệu lực / rule: overlapping dates]"
            )


def _check_no_cycle(tree: UnitTree, sources: Sequence[Unit], target: Unit, what: str) -> None:
    """Data may not roll into a unit it came from: the target is neither a source nor one of
    their predecessors, nor below one of them (a unit merged into its own part)."""
    for source in sources:
        if source.id == target.id or target.id in stored_unit_ids(tree, source.id):
            raise UnitChangeError(
                f"{what}: {_label(target)} là (hoặc thuộc, hoặc có trước) {_label(source)}, "
                "nên sáp nhập sẽ tạo vòng lặp [quy tắc: không có vòng lặp / rule: cycle]"
            )


@dataclass(frozen=True)
class NewUnit:
    """A unit a change creates (the successor of a merge, a part of a split)."""

    code: str
    name: str
    kind: str
    parent: Unit | None


def _make(session: Session, tree: UnitTree, spec: NewUnit, day: date, what: str) -> Unit:
    code = spec.code.strip().upper()
    if not code or len(code) > 32:
        raise UnitChangeError(f"{what}: mã đơn vị mới “{code[:40]}” phải có 1–32 ký tự")
    if code in tree.by_code:
        raise UnitChangeError(
            f"{what}: mã {code} đã là của {tree.by_code[code].name} [quy tắc: mã không trùng]"
        )
    if spec.kind not in UNIT_KINDS:
        raise UnitChangeError(f"{what}: loại đơn vị “{spec.kind}” không có trong {UNIT_KINDS}")
    if not spec.name.strip():
        raise UnitChangeError(f"{what}: đơn vị mới {code} cần có tên")
    if spec.parent is not None:
        _check_exists_on(spec.parent, day, what)
    unit = Unit(
        code=code, name=spec.name.strip()[:200], kind=spec.kind, parent=spec.parent, valid_from=day
    )
    session.add(unit)
    session.flush()
    tree.units[unit.id] = unit
    tree.by_code[unit.code] = unit
    tree.children.setdefault(unit.parent_id, []).append(unit)
    return unit


def _end(unit: Unit, day: date) -> None:
    unit.valid_to = day
    unit.active = False


def merge(
    session: Session,
    tree: UnitTree,
    sources: Sequence[Unit],
    into: Unit | NewUnit,
    effective_on: date,
    *,
    basis: str = "",
    note: str = "",
    desks_to: Unit | None = None,
    by: Officer | None = None,
) -> UnitChange:
    """Merge ``sources`` into ``into`` (an existing unit, or a new one made that day), no commit.

    The sources end on ``effective_on`` with the service points below them; their active
    desks move to ``desks_to`` when given (else they close with their unit). Refused
    (UnitChangeError) when a source does not exist that day or has a later change, when the
    target is a source or one of their predecessors, or when no source is given.
    """
    what = "Sáp nhập bị từ chối"
    if not sources:
        raise UnitChangeError(f"{what}: cần ít nhất một đơn vị trước sáp nhập")
    if len({s.id for s in sources}) != len(sources):
        raise UnitChangeError(f"{what}: một đơn vị được kể hai lần")
    for source in sources:
        _check_exists_on(source, effective_on, what)
        _check_after_earlier_changes(session, source, effective_on, what)
    if isinstance(into, Unit):
        _check_no_cycle(tree, sources, into, what)
        _check_exists_on(into, effective_on, what)
        target = into
    else:
        target = _make(session, tree, into, effective_on, what)
    if desks_to is not None:
        _check_exists_on(desks_to, effective_on, what)
    change = UnitChange(
        kind="merge", effective_on=effective_on, basis=basis[:200], note=note, recorded_by=by
    )
    change.links = [UnitChangeLink(unit=s, side="from") for s in sources]
    change.links.append(UnitChangeLink(unit=target, side="to"))
    session.add(change)
    for source in sources:
        # The source ends with the service points below it (a ward's branch, its reception
        # points): their desks move to ``desks_to`` or close.
        for unit_id in sorted(tree.subtree_ids(source.id)):
            unit = tree.units[unit_id]
            if unit.id != source.id and (unit.kind not in SERVICE_POINT_KINDS or unit.valid_to):
                continue
            _end(unit, effective_on)
            for desk in list(unit.desks):
                if desk.active and desks_to is not None:
                    desk.unit = desks_to
                elif desk.active:
                    desk.active = False
    session.flush()
    tree.predecessors.setdefault(target.id, []).extend(s.id for s in sources)
    return change


def split(
    session: Session,
    tree: UnitTree,
    source: Unit,
    into: Sequence[Unit | NewUnit],
    effective_on: date,
    *,
    basis: str = "",
    note: str = "",
    by: Officer | None = None,
) -> UnitChange:
    """Split ``source`` into the ``into`` units (existing or new), no commit. Its data stays
    its own (not divided). Refused like a merge."""
    what = "Chia tách bị từ chối"
    if len(into) < 2:
        raise UnitChangeError(f"{what}: chia tách {_label(source)} cần ít nhất hai đơn vị sau")
    _check_exists_on(source, effective_on, what)
    _check_after_earlier_changes(session, source, effective_on, what)
    parts: list[Unit] = []
    for part in into:
        if isinstance(part, Unit):
            _check_no_cycle(tree, [source], part, what)
            _check_exists_on(part, effective_on, what)
            parts.append(part)
        else:
            parts.append(_make(session, tree, part, effective_on, what))
    change = UnitChange(
        kind="split", effective_on=effective_on, basis=basis[:200], note=note, recorded_by=by
    )
    change.links = [UnitChangeLink(unit=source, side="from")]
    change.links.extend(UnitChangeLink(unit=p, side="to") for p in parts)
    session.add(change)
    _end(source, effective_on)
    for desk in source.desks:
        desk.active = False
    session.flush()
    return change


def rename(
    session: Session,
    unit: Unit,
    new_name: str,
    effective_on: date,
    *,
    basis: str = "",
    by: Officer | None = None,
) -> UnitChange:
    """Call ``unit`` ``new_name`` from ``effective_on`` (the old name kept), no commit."""
    what = "Đổi tên bị từ chối"
    name = new_name.strip()[:200]
    if not name or name == unit.name:
        raise UnitChangeError(f"{what}: tên mới của {_label(unit)} phải khác tên hiện tại")
    _check_exists_on(unit, effective_on, what)
    _check_after_earlier_changes(session, unit, effective_on, what)
    change = UnitChange(
        kind="rename",
        effective_on=effective_on,
        basis=basis[:200],
        unit=unit,
        old_name=unit.name,
        new_name=name,
        recorded_by=by,
    )
    session.add(change)
    unit.name = name
    session.flush()
    return change


def move_unit(
    session: Session,
    tree: UnitTree,
    unit: Unit,
    parent: Unit,
    effective_on: date,
    *,
    basis: str = "",
    by: Officer | None = None,
) -> UnitChange:
    """Put ``unit`` under ``parent`` from ``effective_on``, no commit. Refused when the parent
    does not exist that day or is the unit itself or below it (a cycle)."""
    what = "Chuyển đơn vị bị từ chối"
    if parent.id in tree.subtree_ids(unit.id):
        raise UnitChangeError(
            f"{what}: {_label(parent)} là {_label(unit)} hoặc thuộc nó, nên sẽ tạo vòng lặp "
            "[quy tắc: không có vòng lặp / rule: cycle]"
        )
    _check_exists_on(unit, effective_on, what)
    _check_exists_on(parent, effective_on, what)
    _check_after_earlier_changes(session, unit, effective_on, what)
    change = UnitChange(
        kind="move",
        effective_on=effective_on,
        basis=basis[:200],
        unit=unit,
        from_parent_id=unit.parent_id,
        to_parent=parent,
        recorded_by=by,
    )
    session.add(change)
    old = tree.children.get(unit.parent_id, [])
    if unit in old:
        old.remove(unit)
    unit.parent = parent
    session.flush()
    tree.children.setdefault(parent.id, []).append(unit)
    return change


def move_desk(
    session: Session,
    desk: Desk,
    unit: Unit,
    effective_on: date,
    *,
    basis: str = "",
    by: Officer | None = None,
) -> UnitChange:
    """Move ``desk`` to ``unit`` from ``effective_on``, no commit. Its earlier responses keep
    the unit they were given at. Refused when ``unit`` does not exist that day."""
    what = f"Chuyển quầy {desk.code} bị từ chối"
    if unit.id == desk.unit_id:
        raise UnitChangeError(f"{what}: quầy đã thuộc {_label(unit)}")
    if unit.valid_from is not None and unit.valid_from > effective_on:
        raise UnitChangeError(
            f"{what}: {_label(unit)} chỉ có từ {unit.valid_from:%d/%m/%Y}, chưa tồn tại vào "
            f"{effective_on:%d/%m/%Y} [quy tắc: quầy chỉ chuyển đến đơn vị đã tồn tại / rule: "
            "a desk moves only to a unit that exists]"
        )
    if unit.valid_to is not None and unit.valid_to <= effective_on:
        raise UnitChangeError(
            f"{what}: {_label(unit)} đã thôi tồn tại từ {unit.valid_to:%d/%m/%Y} [quy tắc: quầy "
            "chỉ chuyển đến đơn vị đang tồn tại / rule: a desk moves only to a unit that exists]"
        )
    earlier = session.scalar(
        select(UnitChange)
        .where(UnitChange.desk_id == desk.id, UnitChange.effective_on >= effective_on)
        .limit(1)
    )
    if earlier is not None:
        raise UnitChangeError(
            f"{what}: quầy đã có lần chuyển số {earlier.id} hiệu lực "
            f"{earlier.effective_on:%d/%m/%Y}, trùng hoặc sau ngày {effective_on:%d/%m/%Y} "
            "[quy tắc: không trùng lặp thời gian hiệu lực / rule: overlapping dates]"
        )
    change = UnitChange(
        kind="move",
        effective_on=effective_on,
        basis=basis[:200],
        desk=desk,
        from_parent_id=desk.unit_id,
        to_parent=unit,
        recorded_by=by,
    )
    session.add(change)
    desk.unit = unit
    session.flush()
    return change


def describe(change: UnitChange) -> str:
    """One line in Vietnamese: what changed, when (for lists, the CLI and the audit log)."""
    day = f"{change.effective_on:%d/%m/%Y}"
    if change.kind in ("merge", "split"):
        before = ", ".join(u.name for u in change.units_on("from"))
        after = ", ".join(u.name for u in change.units_on("to"))
        verb = "sáp nhập thành" if change.kind == "merge" else "chia tách thành"
        return f"{day}: {before} {verb} {after}"
    if change.kind == "rename":
        return f"{day}: {change.old_name} đổi tên thành {change.new_name}"
    subject = (
        f"quầy {change.desk.code}"
        if change.desk is not None
        else (change.unit.name if change.unit is not None else "?")
    )
    before = change.from_parent.name if change.from_parent is not None else "—"
    after = change.to_parent.name if change.to_parent is not None else "—"
    return f"{day}: {subject} chuyển từ {before} sang {after}"


# -- a report's map: which stored units, under which codes, ranked when -----------------------


@dataclass(frozen=True)
class ReportMap:
    """How a report of ``root`` reads stored responses in one view (``today`` or
    ``as_it_was``): the stored unit ids to load, the code each stored unit is reported under,
    the roll-up tree, and which units may be ranked in a period."""

    tree: UnitTree
    root: Unit
    view: str
    unit_ids: frozenset[int]
    #: stored unit code → reported code (today's unit); empty in the "as it was" view.
    relabel_codes: dict[str, str]

    def relabel(self, rows: pd.DataFrame, column: str = "unit_code") -> pd.DataFrame:
        """The rows with each stored unit's code replaced by its reported unit's (a copy)."""
        if not self.relabel_codes or column not in rows or not len(rows):
            return rows
        codes = rows[column].astype(object)
        return rows.assign(**{column: codes.map(lambda c: self.relabel_codes.get(c, c))})

    def units_frame(self) -> pd.DataFrame:
        """The roll-up tree (``unit_code, parent_code``) below the root in this view."""
        tree, root = self.tree, self.root
        ids = today_subtree(tree, root.id) if self.view == "today" else tree.subtree_ids(root.id)
        rows = [
            (u.code, None if u.id == root.id else tree.units[u.parent_id].code)  # type: ignore[index]
            for u in tree.units.values()
            if u.id in ids
        ]
        return pd.DataFrame(rows, columns=["unit_code", "parent_code"])

    def rankable(self, first: date, last: date) -> set[str]:
        """Codes of the units ranked in ``first``–``last``: those that existed then."""
        return rankable_codes(self.tree, self.view, first, last)

    def rolled_in(self, first: date, last: date) -> RolledIn:
        if self.view != "today":
            return RolledIn((), ())
        return rolled_in(self.tree, self.root.id, first, last)

    def service_point_codes(self) -> set[str]:
        """The root and the service points below it that are not below another administrative
        unit (whose desks are the root's own desks)."""
        out, stack = set(), [self.root.id]
        while stack:
            unit = self.tree.units[stack.pop()]
            out.add(unit.code)
            stack.extend(
                c.id for c in self.tree.children.get(unit.id, ()) if c.kind in SERVICE_POINT_KINDS
            )
        if self.view == "today":
            out |= {old for old, new in self.relabel_codes.items() if new in out}
        return out


def report_map(tree: UnitTree, root: Unit, view: str = "today") -> ReportMap:
    """The map a report of ``root`` reads in ``view`` (see :class:`ReportMap`)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    if root.valid_to is not None:
        view = "as_it_was"  # a unit that no longer exists is only seen as it was
    ids = unit_ids_for(tree, root.id, view)
    codes = today_codes(tree, ids) if view == "today" else {}
    return ReportMap(tree, root, view, ids, codes)
