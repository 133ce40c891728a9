"""Dossier events from the province's one-stop system: checked all together, then applied
all-or-nothing to the dossier and petition facts that Decision 766 group 5 is computed from.

A bulk request is **all-or-nothing**: every event is checked first (against the stored facts
and the events before it in the same request); if any breaks a rule, nothing is stored and
every problem is reported with the event's index, its key, the record it is about and the
rule's name. An event whose key this caller already sent is not applied again (idempotent);
the same key with other content is refused (rule ``key_reused``).

Nothing identifying is stored: dossier and petition numbers only as keyed digests."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, String, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import RATINGS, Desk, OnestopDossier, OnestopEvent, OnestopPetition

#: The kinds of event, and the fields each needs beyond ``key``, ``type`` and ``at``.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "received": ("dossier", "desk"),
    "due": ("dossier", "due_at"),
    "returned": ("dossier",),
    "overdue": ("dossier",),
    "rated": ("dossier", "rating"),
    "petition": ("petition", "desk"),
    "petition_handled": ("petition",),
    "petition_rated": ("petition", "rating"),
}
EVENT_TYPES = tuple(EVENT_FIELDS)
#: Fields an event may carry besides the required ones.
OPTIONAL_FIELDS = {"procedure", "due_at", "repeated", "dossier"}
KNOWN_FIELDS = {"key", "type", "at", "desk", "petition", "rating", *OPTIONAL_FIELDS}
MAX_KEY_LENGTH = 100
MAX_NUMBER_LENGTH = 64
MAX_PROCEDURE_LENGTH = 32
#: How far ahead of the server's clock an event's time may be (clocks drift).
FUTURE_SLACK = timedelta(minutes=10)
#: Rows per IN (…) lookup: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 2000
#: The rules an event can break (named in every refusal).
RULES = (
    "bad_field",
    "unknown_type",
    "time_zone",
    "not_in_future",
    "unknown_desk",
    "out_of_scope",
    "received_first",
    "received_once",
    "due_after_received",
    "after_received",
    "key_reused",
)


@dataclass(frozen=True)
class Problem:
    """Why one event was refused: which (``index`` in the request, the caller's ``key``, the
    ``record`` it is about), the ``rule`` and a ``message`` naming all of them."""

    index: int
    key: str | None
    record: str | None
    rule: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "key": self.key,
            "record": self.record,
            "rule": self.rule,
            "message": self.message,
        }


class EventsRefused(Exception):
    """At least one event breaks a rule: nothing was stored."""

    def __init__(self, problems: Sequence[Problem], total: int) -> None:
        super().__init__(f"{len(problems)} of {total} events break a rule; nothing was stored")
        self.problems = list(problems)
        self.total = total


@dataclass(frozen=True)
class Outcome:
    """What a request did: events applied now, and the keys of those applied before."""

    received: int
    stored: int
    already_stored: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "already_stored": len(self.already_stored),
            "already_stored_keys": self.already_stored,
        }


def record_digest(secret: str, kind: str, number: str) -> str:
    """A keyed digest of a dossier or petition number (pseudonymous: never the number)."""
    message = f"sipas.onestop.{kind}\x1f{number.strip()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def fingerprint(event: Mapping[str, Any]) -> str:
    """SHA-256 of the event as sent, its fields in name order. An event is flat JSON (text,
    numbers, booleans, null), whose ``repr`` is canonical: a third of ``json.dumps``' cost,
    which showed in the profile of 100,000 events."""
    canonical = repr(sorted(event.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time with its offset, in UTC; ValueError saying what is wrong otherwise."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 time such as 2026-05-04T08:30:00+07:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 time such as 2026-05-04T08:30:00+07:00"
        ) from None
    if moment.tzinfo is None:
        raise TimeZoneMissing(f"{value!r} has no UTC offset (write +07:00 or Z)")
    return moment.astimezone(UTC)


class TimeZoneMissing(ValueError):
    pass


# -- checking ---------------------------------------------------------------------------------


@dataclass
class _Event:
    index: int
    key: str
    kind: str
    at: datetime
    fingerprint: str
    dossier: str | None = None
    petition: str | None = None
    desk: str | None = None
    procedure: str | None = None
    due_at: datetime | None = None
    rating: str | None = None
    repeated: bool = False

    @property
    def record(self) -> str:
        if self.petition is not None:
            return f"petition {self.petition}"
        return f"dossier {self.dossier}"


def _text(event: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise ValueError(f"{name} must be text of 1–{limit} characters")
    if not value.isprintable():
        raise ValueError(f"{name} must be printable text")
    return value.strip()


def _parse(index: int, raw: Any, now: datetime) -> _Event | Problem:
    def problem(
        rule: str, message: str, key: str | None = None, record: str | None = None
    ) -> Problem:
        where = f"event {index}" + (f" (key {key!r})" if key else "")
        return Problem(index, key, record, rule, f"{where}: {message} — rule {rule}")

    if not isinstance(raw, dict):
        return problem("bad_field", "must be a JSON object")
    key = raw.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        return problem("bad_field", f"key must be text of 1–{MAX_KEY_LENGTH} characters (your id)")
    key = key.strip()
    kind = raw.get("type")
    if kind not in EVENT_FIELDS:
        return problem("unknown_type", f"type must be one of {', '.join(EVENT_TYPES)}", key)
    unknown = set(raw) - KNOWN_FIELDS
    if unknown:
        return problem("bad_field", f"unknown field(s) {', '.join(sorted(unknown))}", key)
    missing = [name for name in ("at", *EVENT_FIELDS[kind]) if raw.get(name) in (None, "")]
    if missing:
        return problem("bad_field", f"a {kind!r} event needs {', '.join(missing)}", key)
    try:
        event = _Event(
            index=index,
            key=key,
            kind=kind,
            at=parse_time(raw["at"]),
            fingerprint=fingerprint(raw),
            dossier=_text(raw, "dossier", MAX_NUMBER_LENGTH),
            petition=_text(raw, "petition", MAX_NUMBER_LENGTH),
            desk=(_text(raw, "desk", 16) or "").upper() or None,
            procedure=_text(raw, "procedure", MAX_PROCEDURE_LENGTH),
            due_at=parse_time(raw["due_at"]) if raw.get("due_at") is not None else None,
        )
    except TimeZoneMissing as error:
        return problem("time_zone", str(error), key)
    except ValueError as error:
        return problem("bad_field", str(error), key)
    if kind in ("rated", "petition_rated"):
        if raw["rating"] not in RATINGS:
            return problem("bad_field", f"rating must be one of {', '.join(RATINGS)}", key)
        event.rating = raw["rating"]
    repeated = raw.get("repeated", False)
    if not isinstance(repeated, bool):
        return problem("bad_field", "repeated must be true or false", key)
    event.repeated = repeated
    if event.at > now + FUTURE_SLACK:
        return problem("not_in_future", f"at {raw['at']} is later than now", key, event.record)
    return event


@dataclass
class _State:
    """A dossier's or petition's facts while the request is checked (id None: new)."""

    id: int | None
    values: dict[str, Any] = field(default_factory=dict)
    changed: bool = False


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


DOSSIER_FIELDS = (
    "desk_id",
    "unit_id",
    "procedure_code",
    "received_at",
    "due_at",
    "returned_at",
    "overdue_reported",
    "rating",
    "has_petition",
)
PETITION_FIELDS = (
    "desk_id",
    "unit_id",
    "dossier_digest",
    "received_at",
    "due_at",
    "handled_at",
    "repeated",
    "satisfied_votes",
    "not_satisfied_votes",
)


def _find(
    session: Session,
    entity: type[Any],
    columns: Sequence[Any],
    key: Any,
    values: Sequence[str],
    *where: Any,
) -> list[Row[Any]]:
    """The rows of ``entity`` whose ``key`` is one of ``values``.

    PostgreSQL: one join against ``unnest(array)``, so every value is an index lookup. An
    ``IN (…)`` list of thousands of parameters becomes, once psycopg prepares the statement, a
    generic plan that may scan (with stale statistics, 32 s for 2,000 keys was measured);
    other databases: ``IN`` in chunks under their parameter limits."""
    if not values:
        return []
    if session.get_bind().dialect.name == "postgresql":
        wanted = (
            func.unnest(bindparam("wanted", list(values), type_=ARRAY(String)))
            .table_valued("value")
            .render_derived()
        )
        query = select(*columns).join_from(wanted, entity, key == wanted.c.value).where(*where)
        return list(session.execute(query).all())
    rows: list[Row[Any]] = []
    for chunk in _chunks(values):
        rows += session.execute(select(*columns).where(key.in_(chunk), *where)).all()
    return rows


def _load_dossiers(session: Session, digests: Sequence[str]) -> dict[str, _State]:
    D = OnestopDossier
    columns = [D.id, D.digest, *(getattr(D, name) for name in DOSSIER_FIELDS)]
    return {
        row.digest: _State(row.id, {name: getattr(row, name) for name in DOSSIER_FIELDS})
        for row in _find(session, D, columns, D.digest, digests)
    }


def _load_petitions(session: Session, digests: Sequence[str]) -> dict[str, _State]:
    P = OnestopPetition
    names = [n for n in PETITION_FIELDS if n != "dossier_digest"]
    columns = [P.id, P.digest, *(getattr(P, name) for name in names)]
    found: dict[str, _State] = {}
    for row in _find(session, P, columns, P.digest, digests):
        values = {name: getattr(row, name) for name in names}
        values["dossier_digest"] = None
        found[row.digest] = _State(row.id, values)
    return found


def _known_keys(session: Session, token_id: int | None, keys: Sequence[str]) -> dict[str, str]:
    E = OnestopEvent
    owner = E.token_id.is_(None) if token_id is None else E.token_id == token_id
    rows = _find(session, E, [E.key, E.fingerprint], E.key, keys, owner)
    return {row.key: row.fingerprint for row in rows}


def apply(
    session: Session,
    events: Sequence[Any],
    *,
    secret: str,
    token_id: int | None,
    allowed_unit_ids: set[int] | None,
    now: datetime | None = None,
    max_problems: int = 100,
) -> Outcome:
    """Check every event, then store them all (no commit: the caller's transaction), or raise
    :class:`EventsRefused` with the first ``max_problems`` problems and store nothing.

    ``allowed_unit_ids``: the units the caller's token may write for (None: every unit)."""
    now = now or datetime.now(UTC)
    parsed: list[_Event] = []
    problems: list[Problem] = []
    for index, raw in enumerate(events):
        result = _parse(index, raw, now)
        (problems if isinstance(result, Problem) else parsed).append(result)  # type: ignore[arg-type]

    desks = {
        row.code: (row.id, row.unit_id)
        for row in session.execute(select(Desk.code, Desk.id, Desk.unit_id))
    }
    dossier_digest = {
        number: record_digest(secret, "dossier", number)
        for number in {e.dossier for e in parsed if e.dossier is not None}
    }
    petition_digest = {
        number: record_digest(secret, "petition", number)
        for number in {e.petition for e in parsed if e.petition is not None}
    }
    dossiers = _load_dossiers(session, sorted(dossier_digest.values()))
    petitions = _load_petitions(session, sorted(petition_digest.values()))
    known = _known_keys(session, token_id, sorted({e.key for e in parsed}))
    seen: dict[str, str] = {}
    already: list[str] = []
    fresh: list[_Event] = []

    for event in parsed:

        def refuse(rule: str, message: str, event: _Event = event) -> None:
            problems.append(
                Problem(
                    event.index,
                    event.key,
                    event.record,
                    rule,
                    f"event {event.index} (key {event.key!r}, {event.record}): {message} "
                    f"— rule {rule}",
                )
            )

        previous = known.get(event.key) or seen.get(event.key)
        if previous is not None:
            if previous != event.fingerprint:
                refuse("key_reused", "this key was sent before with other content")
            elif event.key in known:
                already.append(event.key)
            continue
        seen[event.key] = event.fingerprint
        desk = None
        if event.desk is not None:
            desk = desks.get(event.desk)
            if desk is None:
                refuse("unknown_desk", f"no desk with code {event.desk!r}")
                continue
            if allowed_unit_ids is not None and desk[1] not in allowed_unit_ids:
                refuse("out_of_scope", f"desk {event.desk} is outside this token's units")
                continue
        message = _apply_one(
            event, desk, dossier_digest, petition_digest, dossiers, petitions, allowed_unit_ids
        )
        if message is not None:
            refuse(*message)
            continue
        fresh.append(event)

    if problems:
        problems.sort(key=lambda p: p.index)
        raise EventsRefused(problems[:max_problems], len(problems))
    _write(session, token_id, fresh, dossiers, petitions, now)
    return Outcome(received=len(events), stored=len(fresh), already_stored=already)


def _apply_one(
    event: _Event,
    desk: tuple[int, int] | None,
    dossier_digest: dict[str, str],
    petition_digest: dict[str, str],
    dossiers: dict[str, _State],
    petitions: dict[str, _State],
    allowed_unit_ids: set[int] | None,
) -> tuple[str, str] | None:
    """Apply one event to the facts in memory; the (rule, message) it breaks, or None."""
    stamp = event.at.isoformat()
    if event.kind == "received":
        assert event.dossier is not None and desk is not None
        digest = dossier_digest[event.dossier]
        state = dossiers.get(digest)
        if state is not None:
            same = state.values["received_at"] == event.at and state.values["desk_id"] == desk[0]
            if not same:
                return (
                    "received_once",
                    "this dossier was already received (at another time or desk)",
                )
            return None
        if event.due_at is not None and event.due_at < event.at:
            return (
                "due_after_received",
                f"due at {event.due_at.isoformat()} is before received at {stamp}",
            )
        dossiers[digest] = _State(
            None,
            {
                "desk_id": desk[0],
                "unit_id": desk[1],
                "procedure_code": event.procedure,
                "received_at": event.at,
                "due_at": event.due_at,
                "returned_at": None,
                "overdue_reported": False,
                "rating": None,
                "has_petition": False,
            },
            True,
        )
        return None
    if event.kind == "petition":
        assert event.petition is not None and desk is not None
        digest = petition_digest[event.petition]
        state = petitions.get(digest)
        if state is not None:
            if state.values["received_at"] != event.at:
                return "received_once", "this petition was already received at another time"
            return None
        if event.due_at is not None and event.due_at < event.at:
            return (
                "due_after_received",
                f"due at {event.due_at.isoformat()} is before received at {stamp}",
            )
        about = None
        if event.dossier is not None:
            about = dossier_digest[event.dossier]
            dossier = dossiers.get(about)
            if dossier is None:
                return "received_first", f"dossier {event.dossier} has not been received"
            if allowed_unit_ids is not None and dossier.values["unit_id"] not in allowed_unit_ids:
                return "out_of_scope", f"dossier {event.dossier} is outside this token's units"
            dossier.values["has_petition"] = True
            dossier.changed = True
        petitions[digest] = _State(
            None,
            {
                "desk_id": desk[0],
                "unit_id": desk[1],
                "dossier_digest": about,
                "received_at": event.at,
                "due_at": event.due_at,
                "handled_at": None,
                "repeated": event.repeated,
                "satisfied_votes": 0,
                "not_satisfied_votes": 0,
            },
            True,
        )
        return None

    if event.kind.startswith("petition_"):
        assert event.petition is not None
        state = petitions.get(petition_digest[event.petition])
        if state is None:
            return "received_first", "send its 'petition' event first"
    else:
        assert event.dossier is not None
        state = dossiers.get(dossier_digest[event.dossier])
        if state is None:
            return "received_first", "send its 'received' event first"
    if allowed_unit_ids is not None and state.values["unit_id"] not in allowed_unit_ids:
        return "out_of_scope", "it was received at a desk outside this token's units"
    received = state.values["received_at"]
    if event.kind == "due":
        assert event.due_at is not None
        if event.due_at < received:
            return (
                "due_after_received",
                f"due at {event.due_at.isoformat()} is before received at {received.isoformat()}",
            )
        state.values["due_at"] = event.due_at
    else:
        if event.at < received:
            return (
                "after_received",
                f"{event.kind} at {stamp} is before received at {received.isoformat()}",
            )
        if event.kind == "returned":
            state.values["returned_at"] = event.at
        elif event.kind == "overdue":
            state.values["overdue_reported"] = True
        elif event.kind == "rated":
            state.values["rating"] = event.rating
        elif event.kind == "petition_handled":
            state.values["handled_at"] = event.at
        elif event.kind == "petition_rated":
            name = "satisfied_votes" if event.rating == "satisfied" else "not_satisfied_votes"
            state.values[name] += 1
    state.changed = True
    return None


def _settled(values: Mapping[str, Any], done: str) -> datetime:
    settled: datetime = values[done] or values["due_at"] or values["received_at"]
    return settled


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows: on PostgreSQL with COPY (psycopg otherwise sends one INSERT per row,
    and SQLAlchemy's multi-row INSERTs spend longer converting the query: profiled on 20,000
    events, 6 s and 12 s against well under 1 s), elsewhere with an executemany INSERT.
    Every row has the same keys, all columns but the generated id; times are UTC-aware."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    raw = session.connection().connection.driver_connection
    if raw is None:  # never on a live connection; keeps the type checker sure
        raise RuntimeError("no database connection")
    import psycopg  # the PostgreSQL driver: only here

    statement = f"COPY {table.name} ({names}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except psycopg.errors.IntegrityError as error:
        # As SQLAlchemy would have raised it: a concurrent request stored the same keys.
        raise IntegrityError(statement, None, error) from error


def _write(
    session: Session,
    token_id: int | None,
    fresh: Sequence[_Event],
    dossiers: dict[str, _State],
    petitions: dict[str, _State],
    now: datetime,
) -> None:
    new_dossiers, changed_dossiers = [], []
    for digest, state in dossiers.items():
        if not state.changed:
            continue
        row = {**state.values, "settled_at": _settled(state.values, "returned_at")}
        if state.id is None:
            new_dossiers.append({"digest": digest, **row})
        else:
            changed_dossiers.append({"id": state.id, **row})
    dossier_ids = {digest: state.id for digest, state in dossiers.items() if state.id is not None}
    if new_dossiers:
        _insert(session, OnestopDossier.__table__, new_dossiers)
    # The ids of new dossiers that new petitions are about (COPY returns none).
    wanted = {
        state.values["dossier_digest"]
        for state in petitions.values()
        if state.id is None and state.values["dossier_digest"] is not None
    } - dossier_ids.keys()
    if wanted:
        D = OnestopDossier
        found = _find(session, D, [D.digest, D.id], D.digest, sorted(wanted))
        dossier_ids.update({row.digest: row.id for row in found})
    if changed_dossiers:
        session.execute(update(OnestopDossier), changed_dossiers)

    new_petitions, changed_petitions = [], []
    for digest, state in petitions.items():
        if not state.changed:
            continue
        values = {k: v for k, v in state.values.items() if k != "dossier_digest"}
        row = {**values, "settled_at": _settled(values, "handled_at")}
        if state.id is None:
            about = state.values["dossier_digest"]
            new_petitions.append(
                {"digest": digest, "dossier_id": dossier_ids.get(about) if about else None, **row}
            )
        else:
            changed_petitions.append({"id": state.id, **row})
    if new_petitions:
        _insert(session, OnestopPetition.__table__, new_petitions)
    if changed_petitions:
        session.execute(update(OnestopPetition), changed_petitions)
    if fresh:
        _insert(
            session,
            OnestopEvent.__table__,
            [
                {
                    "token_id": token_id,
                    "key": e.key,
                    "kind": e.kind,
                    "fingerprint": e.fingerprint,
                    "stored_at": now,
                }
                for e in fresh
            ],
        )
    session.flush()
