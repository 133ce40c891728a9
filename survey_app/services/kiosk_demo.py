"""Demo kiosk answers (the short form) at the demo desks, so the all-channel headline has
both forms to pool. Called by tests and, if the lead wires it, by ``sipas demo load``."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import questionnaires

from ..models import Desk
from . import intake
from .integrity import Circumstances
from .questionnaire_store import current_version


def add_kiosk_responses(
    session: Session,
    desk_codes: Sequence[str],
    count: int,
    *,
    since: datetime,
    until: datetime,
    answers: dict[str, int] | None = None,
    seed: int = 14,
) -> int:
    """Store ``count`` kiosk responses spread over the desks and the time span (no commit).

    ``answers`` fixes every answer (e.g. ``{"HL_TC": 5, …}``); otherwise they are drawn,
    mostly satisfied. Returns how many were stored.
    """
    rng = random.Random(seed)
    version = current_version(session, "sipas-kiosk")
    q = questionnaires.get("sipas-kiosk")
    codes = [i.code for i in q.items.values() if i.scale is not None]
    desks = list(session.scalars(select(Desk).where(Desk.code.in_(list(desk_codes)))))
    if not desks:
        raise ValueError(f"no desk among {', '.join(desk_codes)}")
    span = (until - since).total_seconds()
    for k in range(count):
        raw = dict(answers) if answers else {c: rng.choice((3, 4, 4, 5, 5)) for c in codes}
        when = since + timedelta(seconds=span * (k + 0.5) / count)
        intake.store(
            intake.InSession(session, desks[k % len(desks)], submitted_at=when),
            intake.Received(
                uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                checked=intake.check(version, raw),
                channel="kiosk",
                circumstances=Circumstances(25, 6),
            ),
        )
    return count
