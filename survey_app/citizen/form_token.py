"""The survey form's own token: which submission it is, which version it shows, when it was shown.

Signed with the app's secret, so a submission id cannot be invented and the time a person took
to answer cannot be faked; it travels in a hidden field, so it survives a page kept open for hours.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

FORM_SALT = "sipas.survey-form.v1"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=FORM_SALT)


@dataclass(frozen=True)
class FormToken:
    submission_id: uuid.UUID
    version_id: int
    shown_at: datetime
    value: str

    @classmethod
    def issue(cls, version_id: int) -> FormToken:
        submission_id = uuid.uuid4()
        value = _serializer().dumps([submission_id.hex, version_id])
        return cls(submission_id, version_id, datetime.now(UTC), value)

    @classmethod
    def read(cls, value: str) -> FormToken | None:
        """The token if it is ours and not too old; None otherwise."""
        try:
            (hex_id, version_id), shown_at = _serializer().loads(
                value, max_age=current_app.config["SURVEY_FORM_MAX_AGE"], return_timestamp=True
            )
            return cls(uuid.UUID(hex=hex_id), int(version_id), shown_at, value)
        except (BadSignature, SignatureExpired, ValueError, TypeError):
            return None
