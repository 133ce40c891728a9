"""Exports built in the background (the CSV of all responses): one row per job, its state and
progress, and the indexes the officer's long lists (comments, review queue) read slices by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow
from .responses import BigId, Response

#: The states of a job. ``running`` with a heartbeat older than the limit is read as failed
#: (its process died); ``expired`` jobs had their file removed by the clean-up.
EXPORT_STATES = ("queued", "running", "done", "failed", "expired")


class ExportJob(Base):
    """A file an officer asked for, built apart from the request that asked.

    ``token`` names the job in every link and, hashed into nothing else, is the file's name on
    disk: 32 random bytes, so neither a link nor a file can be guessed from another.
    """

    __tablename__ = "export_jobs"
    __table_args__ = (Index(None, "unit_id", "created_at"), Index(None, "status", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="responses_csv")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    #: The period asked for ("all" or a label such as 2026-Q2) and its bounds in UTC.
    period: Mapped[str] = mapped_column(String(16), default="all")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    #: Responses in scope when the job started (the file must end with exactly this many).
    rows_expected: Mapped[int | None] = mapped_column(BigInteger)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The name the officer's browser saves the file under.
    download_name: Mapped[str] = mapped_column(String(120))
    error: Mapped[str] = mapped_column(Text, default="")
    #: The process that runs the job (``host:pid``), for the operator.
    worker: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Seconds the job took to write its file (for the officer's "how long" and the bench).
    seconds: Mapped[int | None] = mapped_column(Integer)


class FederationImport(Base):
    """A province's federation file imported by the national instance (``sipas federation
    import``): which province, which file (its SHA-256), when it was made and imported."""

    __tablename__ = "federation_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Summary cells the file brought (month cells of every questionnaire in it).
    cells: Mapped[int] = mapped_column(Integer)
    questionnaires: Mapped[str] = mapped_column(String(200))


# -- indexes of the officer's long lists (issue 10: slices, not the whole history) -----------
# The lists are newest first (submitted_at DESC, id DESC) with a unit filter. Walking an index
# in that order and stopping after a page (and the capped count: ``pagination.COUNT_CAP``)
# reads a slice whatever the history's size; the unit filter is checked on the rows walked.
NEWEST_INDEX = Index("ix_responses_newest", Response.submitted_at.desc(), Response.id.desc())
# The review queue lists flagged responses only (about 1%): partial indexes hold just those,
# newest first, and by unit for a small unit's queue and count.
FLAGGED_NEWEST_INDEX = Index(
    "ix_responses_flagged_newest",
    Response.submitted_at.desc(),
    Response.id.desc(),
    postgresql_where=text("flags <> ''"),
    sqlite_where=text("flags <> ''"),
)
FLAGGED_INDEX = Index(
    "ix_responses_flagged_unit_newest",
    Response.unit_id,
    Response.submitted_at.desc(),
    Response.id.desc(),
    postgresql_where=text("flags <> ''"),
    sqlite_where=text("flags <> ''"),
)
# A desk's comments and queue: the responses' own (desk_id, submitted_at) index.
