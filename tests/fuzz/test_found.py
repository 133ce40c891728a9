"""What the fuzzers found answering 500, each now a clear 400 (regressions)."""

from __future__ import annotations

import pytest

from .conftest import Fuzzed
from .test_fuzz_officer import signed_in


@pytest.mark.parametrize(
    "query",
    [
        {"to": "9999-12-31"},  # the day after the last overflowed
        {"from": "0001-01-01"},  # moved to UTC it fell before year 1 (issue 12 finding 7)
        {"from": "1999-12-31"},
        {"to": "2101-01-01"},
    ],
)
def test_comment_dates_out_of_range_are_refused(fuzzed: Fuzzed, query: dict[str, str]) -> None:
    client = signed_in(fuzzed)
    answer = client.get("/officer/comments", query_string=query)
    assert answer.status_code == 400
    assert "Ngày phải trong các năm 2000–2100." in answer.get_data(as_text=True)
    assert client.get("/officer/comments", query_string={"to": "2100-12-31"}).status_code == 200


def test_the_fuzzers_send_at_least_ten_thousand_requests() -> None:
    """Issue 12's floor, from each fuzzer's own count (each asserts it sent its share)."""
    from . import test_fuzz_api as api
    from . import test_fuzz_citizen as citizen
    from . import test_fuzz_officer as officer

    total = (
        citizen.SURVEY_POSTS
        + citizen.SURVEY_PAGES
        + citizen.KIOSK_SUBMITS
        + citizen.KIOSK_OTHERS
        + officer.FILTERS
        + officer.SCORES
        + officer.FORMS
        + officer.SIGN_INS
        + api.PER_OPERATION * 4  # units, scores, targets, responses
    )
    assert total >= 10_000
