"""What officers decide about responses: integrity review (keep / exclude) and the handling of
citizens' comments (SIPAS element PA: receiving and handling feedback)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .officers import Officer
from .responses import BigId, Response

DECISIONS = ("keep", "exclude")


class ResponseReview(Base):
    """An officer's decision on a flagged response. An excluded response stays stored and
    counted; the scores leave it out (and show what they would be with it)."""

    __tablename__ = "response_reviews"

    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    response: Mapped[Response] = relationship()
    officer: Mapped[Officer] = relationship()


class CommentFollowUp(Base):
    """A citizen's comment marked handled, with what was done about it."""

    __tablename__ = "comment_follow_ups"

    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("comments.response_id", ondelete="CASCADE"), primary_key=True
    )
    note: Mapped[str] = mapped_column(Text)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    officer: Mapped[Officer] = relationship()
