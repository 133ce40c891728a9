"""Federation: a province's instance exports its score summaries (no response-level data) as one
file; a national instance imports many provinces' files and shows the same dashboards and
rankings over them (national → province → district → commune), because the imported sums go
into the same summary cells (``models.summaries``) the dashboards read.

The file (``sipas federation export``) is gzip-compressed JSON, format version
``FORMAT_VERSION``:

* ``format``, ``format_version``, ``exported_at``, ``zone`` (the time zone the days are in);
* ``province``: its code and name; ``units``: the province's tree (code, name, kind, parent);
  ``desks``: code, name, unit;
* ``questionnaires``: per questionnaire id, its published ``versions`` (number, content hash),
  the summaries' ``basis`` and ``columns`` (``analysis.summaries``), and the month ``cells``:
  unit, desk, month (its first day), the status (``rule_valid``, ``column_valid``, ``flags``,
  ``decision``) and ``sums``, the column sums as little-endian float64 in base64 (exact).

A cell is desk × month × status: sums over the responses in it, never one response's row.

The import (``sipas federation import``) refuses, naming the problem, a file that is not such a
file, of an older or newer format, from a province this instance does not know (a unit of kind
``province`` with that code), whose questionnaire versions differ from those published here or
whose summaries were built differently, or whose units or desks clash with another province's.
All files of one import are written in one transaction: all of them, or nothing. Importing a
province again replaces its earlier cells.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

import questionnaires

from ..models import Desk, QuestionnaireVersion, Unit
from ..models.exports import FederationImport
from ..models.summaries import SummaryCell
from . import score_store
from .accounts import UnitTree

FORMAT = "sipas-federation"
#: The version of the file format this code writes and reads.
FORMAT_VERSION = 1
CELLS = cast(Table, SummaryCell.__table__)


class FederationError(Exception):
    """A federation file refused; the message names the file and the problem."""


# -- export (a province's instance) ------------------------------------------------------------


def _province(tree: UnitTree, code: str | None) -> Unit:
    roots = [u for u in tree.roots() if u.kind == "province"]
    if code is not None:
        found = tree.by_code.get(code.strip().upper())
        if found is None or found.kind != "province":
            raise FederationError(f"no province with the code {code!r} here")
        return found
    if len(roots) != 1:
        names = ", ".join(u.code for u in roots) or "none"
        raise FederationError(f"say which province to export (--province); found {names}")
    return roots[0]


def export_document(session: Session, *, province: str | None, zone: str) -> dict[str, Any]:
    """The federation document of a province: its tree and its month summary cells."""
    tree = UnitTree.load(session)
    root = _province(tree, province)
    ids = tree.subtree_ids(root.id)
    units = [tree.units[i] for i in sorted(ids, key=lambda i: (_depth(tree, i), i))]
    desks = list(
        session.scalars(select(Desk).where(Desk.unit_id.in_(sorted(ids))).order_by(Desk.code))
    )
    desk_codes = {d.id: d.code for d in desks}
    connection = session.connection()
    blocks = []
    for questionnaire_id in sorted(questionnaires.available()):
        layout = score_store.current_set(connection, questionnaire_id)
        if layout is None:
            continue
        if layout.basis.get("timezone") != zone:
            raise FederationError(
                f"the summaries of {questionnaire_id} are in {layout.basis.get('timezone')}, "
                f"not {zone}: run `sipas scores rebuild`"
            )
        rows = connection.execute(
            select(
                CELLS.c.unit_id,
                CELLS.c.desk_id,
                CELLS.c.day,
                CELLS.c.rule_valid,
                CELLS.c.column_valid,
                CELLS.c.flags,
                CELLS.c.decision,
                CELLS.c.sums,
            )
            .where(
                CELLS.c.set_id == layout.set_id,
                CELLS.c.span == "month",
                CELLS.c.unit_id.in_(sorted(ids)),
            )
            .order_by(CELLS.c.day, CELLS.c.unit_id, CELLS.c.desk_id, CELLS.c.id)
        ).all()
        if not rows:
            continue
        versions = session.scalars(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire == questionnaire_id)
            .order_by(QuestionnaireVersion.version)
        ).all()
        blocks.append(
            {
                "id": questionnaire_id,
                "versions": [
                    {"version": v.version, "content_hash": v.content_hash} for v in versions
                ],
                "basis": layout.basis,
                "columns": layout.columns,
                "cells": [
                    {
                        "unit": tree.units[r.unit_id].code,
                        "desk": desk_codes[r.desk_id],
                        "month": r.day.isoformat(),
                        "rule_valid": bool(r.rule_valid),
                        "column_valid": bool(r.column_valid),
                        "flags": r.flags,
                        "decision": r.decision,
                        "sums": base64.b64encode(r.sums).decode("ascii"),
                    }
                    for r in rows
                ],
            }
        )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "zone": zone,
        "province": {"code": root.code, "name": root.name},
        "units": [
            {
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "parent": None if u.id == root.id else tree.units[u.parent_id].code,  # type: ignore[index]
            }
            for u in units
        ],
        "desks": [
            {"code": d.code, "name": d.name, "unit": tree.units[d.unit_id].code} for d in desks
        ],
        "questionnaires": blocks,
    }


def _depth(tree: UnitTree, unit_id: int) -> int:
    depth, unit = 0, tree.units[unit_id]
    while unit.parent_id is not None and unit.parent_id in tree.units:
        depth, unit = depth + 1, tree.units[unit.parent_id]
    return depth


def write_export(document: dict[str, Any], path: Path) -> int:
    """Write the document gzip-compressed; return the file's size in bytes."""
    data = gzip.compress(json.dumps(document, ensure_ascii=False).encode("utf-8"), mtime=0)
    path.write_bytes(data)
    return len(data)


# -- import (the national instance) ------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """What one file brought in."""

    province: str
    cells: int
    questionnaires: tuple[str, ...]
    units_added: int
    desks_added: int


def read_file(path: Path) -> tuple[dict[str, Any], str]:
    """(the document, its SHA-256) of a federation file; FederationError if unreadable."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FederationError(f"{path.name}: cannot be read ({error.strerror})") from None
    try:
        document = json.loads(gzip.decompress(raw).decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
        raise FederationError(
            f"{path.name}: not a sipas federation file (gzip-compressed JSON)"
        ) from None
    if not isinstance(document, dict):
        raise FederationError(f"{path.name}: not a sipas federation file")
    return document, hashlib.sha256(raw).hexdigest()


def import_files(session: Session, paths: Sequence[Path], *, zone: str) -> list[Imported]:
    """Import federation files in one transaction (committed at the end; rolled back and
    FederationError raised at the first problem, so nothing is half-imported)."""
    done: list[Imported] = []
    try:
        seen: dict[str, str] = {}
        for path in paths:
            document, digest = read_file(path)
            code = _check_header(document, path.name, zone)
            if code in seen:
                raise FederationError(
                    f"{path.name}: province {code} is already in {seen[code]} of this import"
                )
            seen[code] = path.name
            done.append(_import_one(session, document, digest, path.name, zone))
        session.commit()
    except FederationError:
        session.rollback()
        raise
    except Exception:
        session.rollback()
        raise
    return done


def _check_header(document: dict[str, Any], name: str, zone: str) -> str:
    if document.get("format") != FORMAT:
        raise FederationError(f"{name}: not a sipas federation file (no format {FORMAT!r})")
    version = document.get("format_version")
    if not isinstance(version, int):
        raise FederationError(f"{name}: the file has no format version")
    if version < FORMAT_VERSION:
        raise FederationError(
            f"{name}: older format (version {version}); this instance reads version "
            f"{FORMAT_VERSION}: export the file again with the province's current sipas"
        )
    if version > FORMAT_VERSION:
        raise FederationError(
            f"{name}: newer format (version {version}); this instance reads version "
            f"{FORMAT_VERSION}: update sipas here first"
        )
    if document.get("zone") != zone:
        raise FederationError(
            f"{name}: the days are in time zone {document.get('zone')}, this instance uses {zone}"
        )
    province = document.get("province") or {}
    code = province.get("code") if isinstance(province, dict) else None
    if not isinstance(code, str) or not code:
        raise FederationError(f"{name}: the file names no province")
    return code


def _import_one(
    session: Session, document: dict[str, Any], digest: str, name: str, zone: str
) -> Imported:
    code = document["province"]["code"]
    tree = UnitTree.load(session)
    province = tree.by_code.get(code)
    if province is None or province.kind != "province":
        raise FederationError(
            f"{name}: unknown province {code}: this instance has no province with that code "
            "(add it to the unit tree first)"
        )
    blocks = document.get("questionnaires") or []
    layouts = [_check_questionnaire(session, block, name, zone) for block in blocks]
    units_added, unit_ids = _merge_units(session, tree, province, document, name)
    desks_added, desk_ids = _merge_desks(session, document, unit_ids, name)
    tree = UnitTree.load(session)
    province_ids = tree.subtree_ids(province.id)
    connection = session.connection()
    cells = 0
    for block, layout in zip(blocks, layouts, strict=True):
        # The province's earlier cells of this questionnaire go: the file replaces them.
        connection.execute(
            delete(CELLS).where(
                CELLS.c.set_id == layout.set_id, CELLS.c.unit_id.in_(sorted(province_ids))
            )
        )
        records = [
            _cell(cell, layout, unit_ids, desk_ids, name, province_ids) for cell in block["cells"]
        ]
        for start in range(0, len(records), 2000):
            connection.execute(insert(CELLS), records[start : start + 2000])
        cells += len(records)
    session.add(
        FederationImport(
            province_unit_id=province.id,
            file_name=name[:200],
            sha256=digest,
            exported_at=_parse_time(document.get("exported_at"), name),
            cells=cells,
            questionnaires=",".join(block["id"] for block in blocks)[:200],
        )
    )
    session.flush()
    return Imported(code, cells, tuple(block["id"] for block in blocks), units_added, desks_added)


def _parse_time(text: Any, name: str) -> datetime:
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise FederationError(f"{name}: exported_at {text!r} is not a UTC time") from None


def _check_questionnaire(
    session: Session, block: dict[str, Any], name: str, zone: str
) -> score_store.Layout:
    qid = block.get("id")
    if qid not in questionnaires.available():
        raise FederationError(f"{name}: questionnaire {qid!r} is not known here")
    published = {
        v.version: v.content_hash
        for v in session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire == qid)
        )
    }
    for version in block.get("versions") or []:
        number, digest = version.get("version"), version.get("content_hash")
        if number not in published:
            raise FederationError(
                f"{name}: questionnaire {qid} version {number} is not published here "
                "(publish the same questionnaires on both instances: sipas questionnaires publish)"
            )
        if published[number] != digest:
            raise FederationError(
                f"{name}: questionnaire {qid} version {number} differs from the one published "
                f"here (content hash {str(digest)[:12]}… vs {published[number][:12]}…)"
            )
    q = score_store.current_questionnaire(qid)
    expected_basis, expected_columns = expected_layout(q, zone)
    connection = session.connection()
    layout = score_store.current_set(connection, qid)
    if layout is None:
        layout = score_store._new_set(connection, q, zone, ready=True)  # noqa: SLF001
    if block.get("basis") != layout.basis or block.get("basis") != expected_basis:
        raise FederationError(
            f"{name}: the summaries of {qid} were built under another basis "
            f"({_basis_difference(block.get('basis'), expected_basis)}): "
            "the two instances run different questionnaire versions or settings"
        )
    if block.get("columns") != layout.columns or block.get("columns") != expected_columns:
        raise FederationError(
            f"{name}: the summaries of {qid} have other columns than this instance's "
            "(different questionnaire versions)"
        )
    return layout


def expected_layout(q: Any, zone: str) -> tuple[dict[str, Any], list[str]]:
    """The basis (JSON) and columns this instance builds ``q``'s summaries with."""
    probe = score_store._empty_build(q, zone)  # noqa: SLF001
    return score_store._basis_json(probe.basis), list(score_store.one_response(q).columns)  # noqa: SLF001


def _basis_difference(got: Any, expected: dict[str, Any]) -> str:
    if not isinstance(got, dict):
        return "no basis in the file"
    keys = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
    return ", ".join(f"{k}: {got.get(k)!r} here {expected.get(k)!r}" for k in keys[:3])


def _merge_units(
    session: Session, tree: UnitTree, province: Unit, document: dict[str, Any], name: str
) -> tuple[int, dict[str, int]]:
    """Create the province's units missing here (renaming those that exist); their ids."""
    province_ids = tree.subtree_ids(province.id)
    ids = {province.code: province.id}
    added = 0
    for entry in document.get("units") or []:
        code = entry["code"]
        if code == province.code:
            continue
        parent = entry.get("parent")
        if parent not in ids:
            raise FederationError(f"{name}: unit {code} comes before its parent {parent}")
        found = tree.by_code.get(code)
        if found is not None and found.id not in province_ids:
            raise FederationError(
                f"{name}: unit {code} belongs to another province here; unit codes must be "
                "unique across the country"
            )
        if found is None:
            found = Unit(code=code, name=entry["name"], kind=entry["kind"], parent_id=ids[parent])
            session.add(found)
            session.flush()
            added += 1
        else:
            found.name = entry["name"]
            found.parent_id = ids[parent]
        ids[code] = found.id
    return added, ids


def _merge_desks(
    session: Session, document: dict[str, Any], unit_ids: dict[str, int], name: str
) -> tuple[int, dict[str, int]]:
    wanted = document.get("desks") or []
    codes = [d["code"] for d in wanted]
    existing = {d.code: d for d in session.scalars(select(Desk).where(Desk.code.in_(codes)))}
    ids: dict[str, int] = {}
    added = 0
    for entry in wanted:
        unit_id = unit_ids.get(entry["unit"])
        if unit_id is None:
            raise FederationError(
                f"{name}: desk {entry['code']} is in unknown unit {entry['unit']}"
            )
        desk = existing.get(entry["code"])
        if desk is not None and desk.unit_id not in unit_ids.values():
            raise FederationError(f"{name}: desk {entry['code']} belongs to another province here")
        if desk is None:
            desk = Desk(code=entry["code"], name=entry["name"], unit_id=unit_id)
            session.add(desk)
            added += 1
        else:
            desk.name, desk.unit_id = entry["name"], unit_id
        session.flush()
        ids[entry["code"]] = desk.id
    return added, ids


def _cell(
    cell: dict[str, Any],
    layout: score_store.Layout,
    unit_ids: dict[str, int],
    desk_ids: dict[str, int],
    name: str,
    province_ids: set[int],
) -> dict[str, Any]:
    unit_id, desk_id = unit_ids.get(cell["unit"]), desk_ids.get(cell["desk"])
    if unit_id is None or desk_id is None or unit_id not in province_ids:
        raise FederationError(
            f"{name}: a cell names unit {cell['unit']} or desk {cell['desk']}, not of the province"
        )
    data = base64.b64decode(cell["sums"])
    if len(data) != 8 * len(layout.columns):
        raise FederationError(
            f"{name}: a cell holds {len(data) // 8} sums, not {len(layout.columns)}"
        )
    values = np.frombuffer(data, dtype="<f8")
    day = date.fromisoformat(cell["month"])
    if day.day != 1:
        raise FederationError(f"{name}: month {cell['month']} is not the first day of a month")
    return {
        "set_id": layout.set_id,
        "span": "month",
        "day": day,
        "unit_id": unit_id,
        "desk_id": desk_id,
        "questionnaire_version_id": 0,
        "channel": "",
        "rule_valid": bool(cell["rule_valid"]),
        "column_valid": bool(cell["column_valid"]),
        "flags": str(cell["flags"]),
        "decision": str(cell["decision"]),
        "responses": int(round(values[0])),
        "sums": data,
    }


def imports_of(session: Session) -> list[FederationImport]:
    """Every import, newest first (the national instance's record of what came from where)."""
    return list(
        session.scalars(select(FederationImport).order_by(FederationImport.imported_at.desc()))
    )


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "FederationError",
    "Imported",
    "export_document",
    "import_files",
    "imports_of",
    "read_file",
    "write_export",
]
