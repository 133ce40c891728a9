"""The survey form's own token: which submission it is, which version it shows, when it was
shown, and for which desk (and invitation) it was issued.

Signed with the app's secret, so a submission id cannot be invented, the time a person took
to answer cannot be faked, and a form fetched at one desk cannot be posted to another; it
travels in a hidden field, so it survives a page kept open for hours. The time it was issued
also feeds the "fetched in a batch, posted in a batch" signal (services/integrity.py).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

FORM_SALT = "sipas.survey-form.v1"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=FORM_SALT)


def invitation_tag(invitation_token: str | None) -> str:
    """A short tag of the invitation link the form was shown with ('' without one)."""
    if not invitation_token:
        return ""
    return hashlib.sha256(invitation_token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FormToken:
    submission_id: uuid.UUID
    version_id: int
    shown_at: datetime
    value: str
    #: The desk (public code) and invitation tag the form was issued for; None on a token
    #: issued before forms were bound (accepted until it expires, SURVEY_FORM_MAX_AGE).
    desk_code: str | None = None
    invitation: str | None = None

    @classmethod
    def issue(cls, version_id: int, desk_code: str, invitation_token: str | None) -> FormToken:
        submission_id = uuid.uuid4()
        tag = invitation_tag(invitation_token)
        value = _serializer().dumps([submission_id.hex, version_id, desk_code, tag])
        return cls(submission_id, version_id, datetime.now(UTC), value, desk_code, tag)

    @classmethod
    def read(cls, value: str) -> FormToken | None:
        """The token if it is ours and not too old; None otherwise."""
        try:
            payload, shown_at = _serializer().loads(
                value, max_age=current_app.config["SURVEY_FORM_MAX_AGE"], return_timestamp=True
            )
            hex_id, version_id, *bound = payload
            desk_code, tag = (str(bound[0]), str(bound[1])) if len(bound) == 2 else (None, None)
            return cls(uuid.UUID(hex=hex_id), int(version_id), shown_at, value, desk_code, tag)
        except (BadSignature, SignatureExpired, ValueError, TypeError):
            return None

    def issued_for(self, desk_code: str, invitation_token: str | None) -> bool:
        """Whether this form was issued for the desk (and invitation) it is posted to."""
        if self.desk_code is None:
            return True
        return self.desk_code == desk_code and self.invitation == invitation_tag(invitation_token)
