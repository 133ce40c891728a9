"""The dashboard's, reports' and targets' indices come from the questionnaire's index tree."""

from __future__ import annotations

import questionnaires
from survey_app.services.index_codes import headline_codes, target_codes


def test_the_desk_form_shows_sipas_and_its_five_elements() -> None:
    # What the dashboard showed when this was a constant: nothing changes for sipas-service.
    assert headline_codes(questionnaires.get("sipas-service")) == (
        "SIPAS", "TC", "TT", "CC", "KQ", "PA",
    )  # fmt: skip


def test_sipas_2023_shows_its_aspects_and_groups() -> None:
    codes = headline_codes(questionnaires.get("sipas-2023"))
    assert codes[0] == "SIPAS"
    assert {"I", "II", "I.A", "I.D"} <= set(codes)
    # Parents first: an aspect comes before its groups.
    assert codes.index("I") < codes.index("I.A") and codes.index("II") < codes.index("TC")


def test_targets_offer_the_default_form_first_then_the_others_own() -> None:
    codes = target_codes("sipas-service")
    assert codes[:7] == ("SIPAS", "TC", "TT", "CC", "KQ", "PA", "HL")
    assert {"I", "II", "I.A"} <= set(codes[7:])
    assert len(codes) == len(set(codes))
    assert target_codes("sipas-service", others=[]) == codes[:7]
