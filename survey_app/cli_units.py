"""`sipas units`: list and show units with their history, and record merges, splits, renames and
moves (survey_app/services/unit_history.py holds the rules). Heavy imports inside the commands."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click
from flask.cli import with_appcontext

if TYPE_CHECKING:
    from .models import Unit
    from .services.accounts import UnitTree
    from .services.unit_history import NewUnit


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"a date is YYYY-MM-DD (e.g. 2025-07-01), got {value[:20]!r}", param_hint="--on"
        ) from None


def _unit(tree: UnitTree, code: str, hint: str) -> Unit:
    unit = tree.by_code.get(code.strip().upper())
    if unit is None:
        raise click.BadParameter(f"no unit with code {code!r}", param_hint=hint)
    return unit


def _dates(unit: Unit) -> str:
    start = f"{unit.valid_from:%Y-%m-%d}" if unit.valid_from else "…"
    end = f"{unit.valid_to:%Y-%m-%d}" if unit.valid_to else "today"
    return f"{start} → {end}"


def _commit_or_fail(session: object, action: object) -> object:
    from .services.unit_history import UnitChangeError

    try:
        result = action()  # type: ignore[operator]
    except UnitChangeError as error:
        session.rollback()  # type: ignore[attr-defined]
        raise click.ClickException(str(error)) from None
    return result


@click.group("units")
def units_group() -> None:
    """Units with their history: list, show, merge, split, rename, move."""


@units_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Also units that no longer exist.")
@with_appcontext
def units_list(everything: bool) -> None:
    """Print the unit tree (today's map; --all adds the units that ended)."""
    from .db import get_session
    from .services.accounts import UnitTree

    tree = UnitTree.load(get_session())

    def walk(unit: Unit, depth: int) -> None:
        if unit.valid_to is not None and not everything:
            return
        click.echo(f"{'  ' * depth}{unit.code}\t{unit.kind}\t{unit.name}\t{_dates(unit)}")
        for child in tree.children.get(unit.id, []):
            walk(child, depth + 1)

    for root in tree.roots():
        walk(root, 0)


@units_group.command("show")
@click.argument("code")
@with_appcontext
def units_show(code: str) -> None:
    """Print a unit: its dates, parent, desks, what was merged into it and its changes."""
    from .db import get_session
    from .services import unit_history
    from .services.accounts import UnitTree

    session = get_session()
    tree = UnitTree.load(session)
    unit = _unit(tree, code, "CODE")
    parent = tree.units.get(unit.parent_id) if unit.parent_id else None
    click.echo(f"{unit.code}  {unit.name}  ({unit.kind})  {_dates(unit)}")
    click.echo(f"parent: {parent.code + ' ' + parent.name if parent else '—'}")
    if unit.branch_of_id in tree.units:
        click.echo(f"branch of: {tree.units[unit.branch_of_id].name}")  # type: ignore[index]
    stored = unit_history.stored_unit_ids(tree, unit.id) - tree.subtree_ids(unit.id)
    if stored:
        names = ", ".join(sorted(tree.units[i].code for i in stored))
        click.echo(f"includes (merged in): {names}")
    if unit.valid_to is not None:
        today = tree.units[unit_history.today_unit_id(tree, unit.id)]
        click.echo(f"counted today for: {today.code} {today.name}")
    for desk in unit.desks:
        click.echo(f"desk {desk.code}\t{desk.name}{'' if desk.active else ' (closed)'}")
    for change in unit_history.changes_of(session, unit):
        click.echo(f"change {change.id} ({change.kind}) {unit_history.describe(change)}")


def _new_or_existing(tree: UnitTree, text: str, kind: str, parent: Unit | None) -> Unit | NewUnit:
    """``CODE`` (an existing unit) or ``CODE=Name`` (a new unit of ``kind`` under ``parent``)."""
    from .services.unit_history import NewUnit

    code, sep, name = text.partition("=")
    if sep:
        return NewUnit(code.strip().upper(), name.strip(), kind, parent)
    return _unit(tree, code, "--into")


@units_group.command("merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", "into", required=True, help="CODE of an existing unit, or CODE=Name.")
@click.option("--on", "on", required=True, help="Effective date (YYYY-MM-DD).")
@click.option("--kind", default=None, help="Kind of a new unit (default: the first source's).")
@click.option("--parent", "parent_code", default=None, help="Parent of a new unit.")
@click.option("--basis", default="", help="Legal basis, e.g. 'Nghị quyết 1679/NQ-UBTVQH15'.")
@click.option("--desks-to", "desks_to", default=None, help="Move the sources' desks here.")
@with_appcontext
def units_merge(
    sources: tuple[str, ...],
    into: str,
    on: str,
    kind: str | None,
    parent_code: str | None,
    basis: str,
    desks_to: str | None,
) -> None:
    """Merge SOURCES into one unit from a date (their data rolls into it)."""
    from .db import get_session
    from .services import accounts, unit_history
    from .services.accounts import UnitTree

    session = get_session()
    tree = UnitTree.load(session)
    day = _day(on)
    olds = [_unit(tree, code, "SOURCES") for code in sources]
    parent = _unit(tree, parent_code, "--parent") if parent_code else olds[0].parent
    target = _new_or_existing(tree, into, kind or olds[0].kind, parent)
    moved_to = _unit(tree, desks_to, "--desks-to") if desks_to else None
    change = _commit_or_fail(
        session,
        lambda: unit_history.merge(
            session,
            tree,
            olds,
            target,
            day,
            basis=basis,
            desks_to=moved_to,  # type: ignore[arg-type]
        ),
    )
    text = unit_history.describe(change)  # type: ignore[arg-type]
    accounts.record(session, "unit_merge", actor="cli", target=into[:200], change=text)
    session.commit()
    click.echo(f"recorded: {text}")


@units_group.command("split")
@click.argument("source")
@click.option("--into", "into", multiple=True, required=True, help="CODE or CODE=Name, twice+.")
@click.option("--on", "on", required=True, help="Effective date (YYYY-MM-DD).")
@click.option("--kind", default=None, help="Kind of new units (default: the source's).")
@click.option("--parent", "parent_code", default=None, help="Parent of new units.")
@click.option("--basis", default="")
@with_appcontext
def units_split(
    source: str,
    into: tuple[str, ...],
    on: str,
    kind: str | None,
    parent_code: str | None,
    basis: str,
) -> None:
    """Split SOURCE into units from a date (its data stays its own)."""
    from .db import get_session
    from .services import accounts, unit_history
    from .services.accounts import UnitTree

    session = get_session()
    tree = UnitTree.load(session)
    day = _day(on)
    old = _unit(tree, source, "SOURCE")
    parent = _unit(tree, parent_code, "--parent") if parent_code else old.parent
    parts = [_new_or_existing(tree, text, kind or old.kind, parent) for text in into]
    change = _commit_or_fail(
        session,
        lambda: unit_history.split(session, tree, old, parts, day, basis=basis),  # type: ignore[arg-type]
    )
    text = unit_history.describe(change)  # type: ignore[arg-type]
    accounts.record(session, "unit_split", actor="cli", target=old.code, change=text)
    session.commit()
    click.echo(f"recorded: {text}")


@units_group.command("rename")
@click.argument("code")
@click.argument("name")
@click.option("--on", "on", required=True, help="Effective date (YYYY-MM-DD).")
@click.option("--basis", default="")
@with_appcontext
def units_rename(code: str, name: str, on: str, basis: str) -> None:
    """Give unit CODE the name NAME from a date (the old name is kept)."""
    from .db import get_session
    from .services import accounts, unit_history
    from .services.accounts import UnitTree

    session = get_session()
    tree = UnitTree.load(session)
    unit = _unit(tree, code, "CODE")
    change = _commit_or_fail(
        session, lambda: unit_history.rename(session, unit, name, _day(on), basis=basis)
    )
    text = unit_history.describe(change)  # type: ignore[arg-type]
    accounts.record(session, "unit_rename", actor="cli", target=unit.code, change=text)
    session.commit()
    click.echo(f"recorded: {text}")


@units_group.command("move")
@click.option("--unit", "unit_code", default=None, help="The unit to move.")
@click.option("--desk", "desk_code", default=None, help="Or the desk to move.")
@click.option("--to", "to_code", required=True, help="The new parent unit (or the desk's unit).")
@click.option("--on", "on", required=True, help="Effective date (YYYY-MM-DD).")
@click.option("--basis", default="")
@with_appcontext
def units_move(
    unit_code: str | None, desk_code: str | None, to_code: str, on: str, basis: str
) -> None:
    """Move a unit under another parent, or a desk to another unit, from a date."""
    from sqlalchemy import select

    from .db import get_session
    from .models import Desk
    from .services import accounts, unit_history
    from .services.accounts import UnitTree

    if (unit_code is None) == (desk_code is None):
        raise click.UsageError("give exactly one of --unit and --desk")
    session = get_session()
    tree = UnitTree.load(session)
    to = _unit(tree, to_code, "--to")
    day = _day(on)
    if desk_code is not None:
        desk = session.scalar(select(Desk).where(Desk.code == desk_code.strip().upper()))
        if desk is None:
            raise click.BadParameter(f"no desk with code {desk_code!r}", param_hint="--desk")
        change = _commit_or_fail(
            session, lambda: unit_history.move_desk(session, desk, to, day, basis=basis)
        )
        subject = desk.code
    else:
        unit = _unit(tree, unit_code or "", "--unit")
        change = _commit_or_fail(
            session, lambda: unit_history.move_unit(session, tree, unit, to, day, basis=basis)
        )
        subject = unit.code
    text = unit_history.describe(change)  # type: ignore[arg-type]
    accounts.record(session, "unit_move", actor="cli", target=subject, change=text)
    session.commit()
    click.echo(f"recorded: {text}")
