"""Fuzzing the officer side: sign-in, and as a signed-in administrator the filters (comments,
review, audit, scores) and the forms (targets, review decisions, comment handling, desks,
units, services, API tokens). Every answer must be below 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import Comment, Response

from ..officer.conftest import PASSWORDS
from .conftest import SCALE, Fuzzed, examples, no_server_errors

#: Examples per fuzzer, one request each (officer pages cost several times a survey's).
FILTERS, SCORES, FORMS, SIGN_INS = 1000, 150, 800, 150
UNITS = ("QN", "QN-DAMHA", "QN-QUANGTAN", "qn-dh", "NOPE")
DESKS = ("DAMHA2", "QUANGTAN1", "dh01", "NOPE")
text = st.text(max_size=60)
#: Issue 12 finding 3: tabs, newlines and backslashes in `next` (kept in).
next_target = st.one_of(
    st.sampled_from(["/officer/", "/officer/comments?page=2", "//evil.example", "http://x.test/"]),
    st.sampled_from(["/officer/\n", "/%09/evil.example", "/\\evil.example", "\t//x"]),
    st.text(max_size=40),
)
#: Issue 12 finding 7: periods in 2000 (whose previous one is 1999) kept in.
period = st.one_of(
    st.from_regex(r"20[0-9]{2}(-Q[1-6]|-[0-9]{2})?", fullmatch=True),
    st.sampled_from(
        ["", "2026", "2026-Q2", "2026-05", "2000", "2000-Q1", "1999", "2101", "9999-99"]
    ),
    text,
)
day = st.one_of(st.dates().map(lambda d: d.isoformat()), text, st.just(""))
page = st.one_of(st.integers(-5, 20000).map(str), text)


def signed_in(fuzzed: Fuzzed) -> Any:
    client = fuzzed.app.test_client()
    fuzzed.target("setup")
    answer = client.post(
        "/officer/sign-in", data={"username": "admin", "password": PASSWORDS["admin"]}
    )
    assert answer.status_code == 302
    return client


def test_fuzz_officer_filters(fuzzed: Fuzzed) -> None:
    client = signed_in(fuzzed)
    fuzzed.target("officer filters")

    @examples(FILTERS)
    @given(
        path=st.sampled_from(["/officer/comments", "/officer/review", "/officer/audit"]),
        query=st.fixed_dictionaries(
            {},
            optional={
                "unit": st.one_of(st.sampled_from(UNITS), text),
                "desk": st.one_of(st.sampled_from(DESKS), text),
                "status": st.one_of(
                    st.sampled_from(["open", "handled", "all", "undecided", "keep", "exclude"]),
                    text,
                ),
                "very_dissatisfied": st.sampled_from(["1", "", "no"]),
                "q": text,
                "from": day,
                "to": day,
                "page": page,
                "action": st.one_of(st.sampled_from(["sign_in", "sign_in_failed"]), text),
                "flag": text,
            },
        ),
    )
    def filters(path: str, query: dict[str, str]) -> None:
        answer = client.get(path, query_string=query)
        assert answer.status_code < 500, (path, query)

    filters()

    @examples(SCORES)
    @given(
        where=st.one_of(
            st.sampled_from(UNITS).map(lambda code: f"/officer/units/{code}"),
            st.sampled_from(DESKS).map(lambda code: f"/officer/desks/{code}"),
            text.map(lambda code: f"/officer/units/{quote(code, safe='')}"),
        ),
        query=st.fixed_dictionaries(
            {"period": period}, optional={"q": st.sampled_from(["sipas-service", "x", ""])}
        ),
    )
    def scores(where: str, query: dict[str, str]) -> None:
        answer = client.get(where, query_string=query)
        assert answer.status_code < 500, (where, query)

    scores()
    assert fuzzed.sent("officer filters") >= (FILTERS + SCORES) * min(1.0, SCALE)
    no_server_errors()


def test_fuzz_officer_forms(fuzzed: Fuzzed) -> None:
    with fuzzed.app.app_context():
        db = get_session()
        responses = db.scalars(select(Response.id).order_by(Response.id).limit(20)).all()
        commented = db.scalars(select(Comment.response_id).limit(10)).all()
        for response in db.scalars(select(Response).where(Response.id.in_(responses[:10]))):
            response.flags = response.flags or "too_fast"
        db.commit()
    ids = st.one_of(st.sampled_from([*responses, *commented]), st.integers(0, 2**31 - 1))
    client = signed_in(fuzzed)
    fuzzed.target("officer forms")

    @examples(FORMS)
    @given(
        form=st.one_of(
            st.tuples(
                st.just("/officer/targets"),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "unit": st.one_of(st.sampled_from(UNITS), text),
                        "code": st.one_of(st.sampled_from(["SIPAS", "PA", "TC1"]), text),
                        "period": period,
                        "value": st.one_of(
                            st.floats().map(str),
                            st.integers(-(10**6), 10**6).map(str),
                            text,
                        ),
                    },
                ),
            ),
            st.tuples(
                ids.map(lambda i: f"/officer/review/{i}"),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "decision": st.one_of(st.sampled_from(["keep", "exclude"]), text),
                        "note": st.text(max_size=1200),
                        "next": next_target,
                    },
                ),
            ),
            st.tuples(
                ids.map(lambda i: f"/officer/comments/{i}/handle"),
                st.fixed_dictionaries(
                    {}, optional={"note": st.text(max_size=1200), "next": next_target}
                ),
            ),
            st.tuples(
                st.sampled_from(
                    [
                        "/officer/field/desks/new",
                        "/officer/field/desks/DAMHA3",
                        "/officer/field/desks/NOPE",
                    ]
                ),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "code": text,
                        "name": text,
                        "unit": st.one_of(st.sampled_from(UNITS), text),
                        "questionnaire": st.one_of(
                            st.sampled_from(["sipas-service", "sipas-2023"]), text
                        ),
                        "active": st.sampled_from(["y", "", "on"]),
                        "am_open": st.one_of(st.sampled_from(["07:30", "25:00"]), text),
                        "am_close": st.one_of(st.sampled_from(["11:30", "11:30:00"]), text),
                        "pm_open": text,
                        "pm_close": text,
                    },
                ),
            ),
            st.tuples(
                st.sampled_from(
                    [
                        "/officer/field/units/new",
                        "/officer/field/units/QN-QUANGTAN",
                        "/officer/field/services/new",
                    ]
                ),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "code": text,
                        "name": text,
                        "kind": st.one_of(st.sampled_from(["commune", "district"]), text),
                        "parent": st.one_of(st.sampled_from(UNITS), text),
                        "active": st.sampled_from(["y", ""]),
                    },
                ),
            ),
            st.tuples(
                st.just("/officer/api-tokens"),
                st.fixed_dictionaries(
                    {}, optional={"name": text, "unit": st.one_of(st.sampled_from(UNITS), text)}
                ),
            ),
        )
    )
    def post(form: tuple[str, dict[str, str]]) -> None:
        path, data = form
        answer = client.post(path, data=data)
        assert answer.status_code < 500, (path, data)

    post()
    assert fuzzed.sent("officer forms") >= FORMS * min(1.0, SCALE)
    no_server_errors()


def test_fuzz_sign_in(fuzzed: Fuzzed) -> None:
    client = fuzzed.app.test_client()
    fuzzed.target("sign-in")

    @examples(SIGN_INS)
    @given(
        data=st.fixed_dictionaries(
            {},
            optional={
                "username": st.one_of(st.sampled_from(["admin", "damha", "ADMIN ", "аdmin"]), text),
                "password": st.one_of(st.sampled_from(["sipas-admin-2026", ""]), text),
                "next": next_target,
            },
        ),
        query_next=st.one_of(st.none(), next_target),
    )
    def sign_in(data: dict[str, str], query_next: str | None) -> None:
        query = {"next": query_next} if query_next is not None else {}
        answer = client.post("/officer/sign-in", data=data, query_string=query)
        assert answer.status_code < 500, data

    sign_in()
    assert fuzzed.sent("sign-in") >= SIGN_INS * min(1.0, SCALE)
    no_server_errors()
