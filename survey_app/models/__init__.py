"""The database models (SQLAlchemy 2.0, typed)."""

from .base import Base, UTCDateTime, utcnow
from .field import UNIT_KINDS, Desk, Service, Unit
from .household_survey import PaperForm, PaperKeying, SamplePlan, SampleStratum, SampleUnit
from .kiosk import Enrolment, KioskDevice, KioskSubmission
from .officers import ROLES, ApiToken, AuditEvent, Officer
from .onestop import RATINGS, IdempotentAnswer, OnestopDossier, OnestopEvent, OnestopPetition
from .plan import Target
from .responses import CHANNELS, Answer, Comment, InvitationUse, QuestionnaireVersion, Response
from .review import DECISIONS, CommentFollowUp, ResponseReview
from .throttle import SignInAttempts

__all__ = [
    "CHANNELS",
    "DECISIONS",
    "RATINGS",
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
    "IdempotentAnswer",
    "InvitationUse",
    "KioskDevice",
    "KioskSubmission",
    "Officer",
    "OnestopDossier",
    "OnestopEvent",
    "OnestopPetition",
    "PaperForm",
    "PaperKeying",
    "QuestionnaireVersion",
    "Response",
    "ResponseReview",
    "SamplePlan",
    "SampleStratum",
    "SampleUnit",
    "Service",
    "SignInAttempts",
    "Target",
    "UTCDateTime",
    "Unit",
    "utcnow",
]
