"""The database models (SQLAlchemy 2.0, typed)."""

from . import integrity as _integrity  # noqa: F401  (registers the signals' index)
from .base import Base, UTCDateTime, utcnow
from .exports import ExportJob, FederationImport
from .field import (
    HISTORY_KINDS,
    RANKED_KINDS,
    SERVICE_POINT_KINDS,
    TODAY_KINDS,
    UNIT_KINDS,
    Desk,
    Service,
    Unit,
)
from .household_survey import PaperForm, PaperKeying, SamplePlan, SampleStratum, SampleUnit
from .kiosk import Enrolment, KioskDevice, KioskSubmission
from .officers import ROLES, ApiToken, AuditEvent, Officer
from .onestop import RATINGS, IdempotentAnswer, OnestopDossier, OnestopEvent, OnestopPetition
from .plan import Target
from .responses import CHANNELS, Answer, Comment, InvitationUse, QuestionnaireVersion, Response
from .review import DECISIONS, CommentFollowUp, ResponseReview
from .summaries import SummaryCell, SummarySet
from .throttle import SignInAttempts
from .unit_changes import CHANGE_KINDS, UnitChange, UnitChangeLink

__all__ = [
    "CHANGE_KINDS",
    "CHANNELS",
    "HISTORY_KINDS",
    "RANKED_KINDS",
    "SERVICE_POINT_KINDS",
    "TODAY_KINDS",
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
    "ExportJob",
    "FederationImport",
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
    "SummaryCell",
    "SummarySet",
    "Target",
    "UTCDateTime",
    "Unit",
    "UnitChange",
    "UnitChangeLink",
    "utcnow",
]
