"""Raw responses as CSV (the wide format of SIPAS.md §7): built by the service
``services/responses_csv.py`` (queries, COPY batches, the end marker); re-exported here for the
report views. The file format is described there and in README "Exports of all responses"."""

from ..services.responses_csv import (
    BATCH,
    BOM,
    END_MARKER,
    IncompleteExport,
    check_file,
    count_in_scope,
    end_line,
    stream_responses,
    write_file,
)

__all__ = [
    "BATCH",
    "BOM",
    "END_MARKER",
    "IncompleteExport",
    "check_file",
    "count_in_scope",
    "end_line",
    "stream_responses",
    "write_file",
]
