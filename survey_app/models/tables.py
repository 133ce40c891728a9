"""The Core table of each model, for the paths that build SQL without the ORM (the submit path,
the wide export): one definition, imported by both."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from .field import Desk, Service, Unit
from .kiosk import KioskSubmission
from .responses import Comment, InvitationUse, QuestionnaireVersion, Response
from .review import ResponseReview

RESPONSES = cast(Table, Response.__table__)
COMMENTS = cast(Table, Comment.__table__)
INVITATION_USES = cast(Table, InvitationUse.__table__)
DESKS = cast(Table, Desk.__table__)
UNITS = cast(Table, Unit.__table__)
SERVICES = cast(Table, Service.__table__)
VERSIONS = cast(Table, QuestionnaireVersion.__table__)
REVIEWS = cast(Table, ResponseReview.__table__)
KIOSK_SUBMISSIONS = cast(Table, KioskSubmission.__table__)
