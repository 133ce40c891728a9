"""The database models (SQLAlchemy 2.0, typed)."""

from .base import Base, UTCDateTime, utcnow
from .exports import ExportJob, FederationImport
from .field import UNIT_KINDS, Desk, Service, Unit
from .kiosk import Enrolment, KioskDevice, KioskSubmission
from .officers import ROLES, ApiToken, AuditEvent, Officer
from .plan import Target
from .responses import CHANNELS, Answer, Comment, InvitationUse, QuestionnaireVersion, Response
from .review import DECISIONS, CommentFollowUp, ResponseReview
from .summaries import SummaryCell, SummarySet
from .throttle import SignInAttempts

__all__ = [
    "CHANNELS",
    "DECISIONS",
    "ROLES",
    "UNIT_KINDS",
    "Answer",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Comment",
    "CommentFollowUp",
    "Desk",
    "Enrolment",
    "ExportJob",
    "FederationImport",
    "InvitationUse",
    "KioskDevice",
    "KioskSubmission",
    "Officer",
    "QuestionnaireVersion",
    "Response",
    "ResponseReview",
    "Service",
    "SignInAttempts",
    "SummaryCell",
    "SummarySet",
    "Target",
    "UTCDateTime",
    "Unit",
    "utcnow",
]
