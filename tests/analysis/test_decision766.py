"""Decision 766 group 5 (a reference calculation) against hand-worked examples: each rule of
the tally, the 90 % cap, the floor at zero, the empty-period setting, and ranks."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import DataError
from analysis import decision766 as d766

T = pd.Timestamp


def ts(day: int) -> pd.Timestamp:
    return T(f"2026-05-{day:02d} 03:00", tz="UTC")


NAT = pd.NaT
AS_OF = T("2026-06-01", tz="UTC")


def dossiers() -> pd.DataFrame:
    """Commune A: 5 dossiers; commune B: 2.

    A1 on time, satisfied · A2 returned after due (overdue) · A3 not returned, due 20/5 <
    as-of (overdue) · A4 on time, "not satisfied" (flagged) · A5 on time but the one-stop
    system reported it overdue, and it has a petition (overdue and flagged).
    B1, B2 on time and satisfied."""
    rows = [
        ("A", ts(10), ts(8), False, "satisfied", False),
        ("A", ts(10), ts(12), False, None, False),
        ("A", ts(20), NAT, False, None, False),
        ("A", ts(10), ts(9), False, "not_satisfied", False),
        ("A", ts(10), ts(9), True, None, True),
        ("B", ts(10), ts(9), False, "satisfied", False),
        ("B", ts(10), ts(5), False, "satisfied", False),
    ]
    return pd.DataFrame(rows, columns=["unit", *d766.DOSSIER_COLUMNS])


def petitions() -> pd.DataFrame:
    """Commune A: 4 petitions; commune B: none.

    P1 handled on time, votes 2 satisfied / 1 not → on time, not failing.
    P2 handled late → not on time, failing.
    P3 handled on time but votes 0 / 2 → on time, failing.
    P4 on time but a repeat → on time, failing."""
    rows = [
        ("A", ts(15), ts(14), False, 2, 1),
        ("A", ts(15), ts(16), False, 0, 0),
        ("A", ts(15), ts(10), False, 0, 2),
        ("A", ts(15), ts(10), True, 0, 0),
    ]
    return pd.DataFrame(rows, columns=["unit", *d766.PETITION_COLUMNS])


def test_the_tally_follows_each_rule() -> None:
    counts = d766.tally(dossiers(), petitions(), by=["unit"], as_of=AS_OF).set_index("unit")
    assert counts.loc["A"].to_dict() == {
        "dossiers": 5,
        "dossiers_overdue": 3,  # A2, A3, A5
        "dossiers_flagged": 2,  # A4, A5
        "petitions": 4,
        "petitions_on_time": 3,  # P1, P3, P4
        "petitions_failing": 3,  # P2, P3, P4
    }
    assert counts.loc["B"].to_dict() == {
        "dossiers": 2,
        "dossiers_overdue": 0,
        "dossiers_flagged": 0,
        "petitions": 0,
        "petitions_on_time": 0,
        "petitions_failing": 0,
    }


def test_points_by_hand() -> None:
    """A: 5.4 = 100 − (3/5 + 2/5)·100 = 0 % → 0 points; 5.2 = 3/4 = 75 % → 75·6/90 = 5;
    5.3 = (4 − 3)/4 = 25 % → 25·6/90 = 1.6667; total 6.6667.
    B: 5.4 = 100 % → capped at 6; no petition → 5.2 and 5.3 earn full points: 18."""
    table = (
        d766.group5(dossiers(), petitions(), by=["unit"], as_of=AS_OF).to_frame().set_index("unit")
    )
    a, b = table.loc["A"], table.loc["B"]
    assert a["rate_5_4"] == pytest.approx(0.0) and a["points_5_4"] == pytest.approx(0.0)
    assert a["rate_5_2"] == pytest.approx(75.0) and a["points_5_2"] == pytest.approx(5.0)
    assert a["rate_5_3"] == pytest.approx(25.0) and a["points_5_3"] == pytest.approx(10 / 6)
    assert a["points"] == pytest.approx(5 + 10 / 6)
    assert b["rate_5_4"] == pytest.approx(100.0) and b["points_5_4"] == pytest.approx(6.0)
    assert pd.isna(b["rate_5_2"]) and b["points_5_2"] == 6.0 and b["points"] == 18.0


def test_the_empty_rule_and_the_constants_are_settings() -> None:
    strict = d766.Group5Settings(full_rate=80, points=10, empty_earns_full=False)
    table = (
        d766.group5(dossiers(), petitions(), by=["unit"], as_of=AS_OF, settings=strict)
        .to_frame()
        .set_index("unit")
    )
    assert table.loc["B", "points_5_2"] == 0.0 and table.loc["B", "points_5_4"] == 10.0
    # 75 % of 80 % for 10 points: 75 · 10 / 80 = 9.375.
    assert table.loc["A", "points_5_2"] == pytest.approx(9.375)


def test_a_rate_of_exactly_the_threshold_earns_everything() -> None:
    counts = pd.DataFrame(
        {
            "u": ["X", "Y"],
            "dossiers": [10, 10],
            "dossiers_overdue": [1, 2],
            "dossiers_flagged": [0, 0],
            "petitions": [10, 10],
            "petitions_on_time": [9, 8],
            "petitions_failing": [1, 0],
        }
    )
    table = d766.score_tally(counts).to_frame().set_index("u")
    assert table.loc["X", "points"] == pytest.approx(18.0)  # 90 %, 90 %, 90 %
    # Y: 5.4 80 % → 5.3333; 5.2 80 % → 5.3333; 5.3 100 % → 6.
    assert table.loc["Y", "points"] == pytest.approx(16 / 3 * 2 + 6)


def test_ranks_share_the_best_place_on_ties() -> None:
    counts = pd.DataFrame(
        {
            "m": ["05", "05", "05", "06"],
            "u": ["A", "B", "C", "A"],
            "dossiers": [10, 10, 10, 10],
            "dossiers_overdue": [5, 0, 0, 0],
            "dossiers_flagged": [0, 0, 0, 0],
            "petitions": [0, 0, 0, 0],
            "petitions_on_time": [0, 0, 0, 0],
            "petitions_failing": [0, 0, 0, 0],
        }
    )
    ranked = d766.rank(d766.score_tally(counts), within=["m"]).to_frame()
    assert ranked["rank"].tolist() == [3, 1, 1, 1]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"full_rate": 0}, "full_rate"),
        ({"full_rate": 120}, "full_rate"),
        ({"points": 0}, "points"),
    ],
)
def test_bad_settings_name_themselves(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        d766.Group5Settings(**settings)


def test_bad_frames_say_what_is_missing() -> None:
    with pytest.raises(DataError, match="due_at"):
        d766.tally(dossiers().drop(columns="due_at"), petitions(), by=["unit"], as_of=AS_OF)
    bad = d766.tally(dossiers(), petitions(), by=["unit"], as_of=AS_OF)
    bad.loc[0, "dossiers"] = -1
    with pytest.raises(DataError, match="non-negative"):
        d766.score_tally(bad)
    with pytest.raises(TypeError, match="DataFrame"):
        d766.score_tally([1, 2])  # type: ignore[arg-type]


def test_the_result_is_labelled_a_reference_calculation() -> None:
    result = d766.group5(dossiers(), petitions(), by=["unit"], as_of=AS_OF)
    assert "Tham khảo" in result.label and "không phải số chính thức" in result.label
