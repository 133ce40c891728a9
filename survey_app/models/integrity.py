"""Indexes the integrity signals look up by (their columns are on ``responses``)."""

from __future__ import annotations

from sqlalchemy import Index

from .responses import Response

#: "Many responses from one source": one index range per submission, never a scan.
SOURCE_INDEX = Index("ix_responses_source_digest", Response.source_digest, Response.submitted_at)
