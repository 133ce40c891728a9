"""The questionnaire files and their loader: every kind of mistake gets its own clear message."""

from __future__ import annotations

import copy
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import questionnaires
from questionnaires import QuestionnaireError, check_answers, load
from survey_app.cli import main

SHIPPED = sorted(questionnaires.available())


def test_the_four_questionnaires_ship_and_load() -> None:
    assert SHIPPED == ["sipas-2017", "sipas-2023", "sipas-kiosk", "sipas-service"]
    for qid in SHIPPED:
        q = questionnaires.get(qid)
        assert q.id == qid and q.version >= 1
        assert q.scoring_method in ("top2box", "mean_score")


def test_the_official_structures() -> None:
    service = questionnaires.get("sipas-service")
    assert [n.code for n in service.index.children] == ["TC", "TT", "CC", "KQ", "PA"]
    assert [len(n.items) for n in service.index.children] == [3, 4, 3, 3, 3]
    assert service.items["HL"].role == "overall"
    assert "HL" not in service.index.leaf_items()

    sipas2017 = questionnaires.get("sipas-2017")
    assert [len(n.items) for n in sipas2017.index.children] == [4, 5, 6, 3, 4]  # 22 criteria

    sipas2023 = questionnaires.get("sipas-2023")
    aspects = sipas2023.index.children
    assert [a.code for a in aspects] == ["I", "II"]
    groups = [g for a in aspects for g in a.children]
    assert len(groups) == 9 and len(sipas2023.satisfaction_items) == 39
    assert sipas2023.index.leaf_items() == tuple(f"Q9_{n}" for n in range(1, 40))
    assert len(sipas2023.items_with_role("expectation")) == 10
    # Q2 is a multiple choice, stored as one yes/no column per channel.
    assert [c for c in sipas2023.answer_columns() if c.startswith("Q2_")] == [
        f"Q2_{n}" for n in range(1, 8)
    ]

    kiosk = questionnaires.get("sipas-kiosk")
    assert len(kiosk.satisfaction_items) == 5 and kiosk.comment_item is not None


@pytest.mark.parametrize("qid", SHIPPED)
def test_every_text_is_nfc_and_in_both_languages(qid: str) -> None:
    q = questionnaires.get(qid)
    for item in q.items.values():
        for text in (item.text.vi, item.text.en):
            assert text.strip() and unicodedata.is_normalized("NFC", text)


def test_the_satisfaction_scale_is_the_official_one() -> None:
    scale = questionnaires.get("sipas-service").scales["satisfaction-5"]
    assert [(o.code, o.label.vi) for o in scale.options] == [
        (1, "Rất không hài lòng"),
        (2, "Không hài lòng"),
        (3, "Bình thường"),
        (4, "Hài lòng"),
        (5, "Rất hài lòng"),
    ]


# -- malformed files ---------------------------------------------------------------------------


def _service_content() -> dict[str, Any]:
    return copy.deepcopy(dict(questionnaires.get("sipas-service").content))


def _write(tmp_path: Path, content: Any, name: str = "sipas-service.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def _item(content: dict[str, Any], code: str) -> dict[str, Any]:
    for section in content["sections"]:
        for item in section["items"]:
            if item["code"] == code:
                return item  # type: ignore[no-any-return]
    raise KeyError(code)


def _drop_vi(c: dict[str, Any]) -> None:
    del _item(c, "TT1")["text"]["vi"]


def _decompose(c: dict[str, Any]) -> None:
    _item(c, "CC1")["text"]["vi"] = unicodedata.normalize("NFD", "Công chức lịch sự")


def _duplicate_item(c: dict[str, Any]) -> None:
    _item(c, "TC2")["code"] = "TC1"


def _unknown_scale(c: dict[str, Any]) -> None:
    _item(c, "TC1")["scale"] = "satisfaction-7"


def _typo_key(c: dict[str, Any]) -> None:
    _item(c, "TC1")["requried"] = True


def _orphan_item(c: dict[str, Any]) -> None:
    c["index"]["children"][0]["items"].remove("TC3")


def _unknown_tree_item(c: dict[str, Any]) -> None:
    c["index"]["children"][0]["items"].append("TC9")


def _tree_lists_overall(c: dict[str, Any]) -> None:
    c["index"]["children"][0]["items"].append("HL")


def _listed_twice(c: dict[str, Any]) -> None:
    c["index"]["children"][1]["items"].append("TC1")


def _bad_role(c: dict[str, Any]) -> None:
    _item(c, "TC1")["role"] = "satisfied"


def _bad_method(c: dict[str, Any]) -> None:
    c["scoring"]["method"] = "top3box"


def _bad_version(c: dict[str, Any]) -> None:
    c["version"] = "1.2"


def _duplicate_option(c: dict[str, Any]) -> None:
    c["scales"]["satisfaction-5"]["options"][1]["code"] = 1


def _zero_option(c: dict[str, Any]) -> None:
    c["scales"]["desire-4"]["options"][0]["code"] = 0


def _four_level_satisfaction(c: dict[str, Any]) -> None:
    _item(c, "TC1")["scale"] = "desire-4"


def _label_as_string(c: dict[str, Any]) -> None:
    c["title"] = "Phiếu khảo sát"


def _two_comments(c: dict[str, Any]) -> None:
    c["sections"][-1]["items"].append(
        {"code": "comment2", "role": "comment", "text": {"vi": "Thêm", "en": "More"}}
    )


def _report_option_outside_scale(c: dict[str, Any]) -> None:
    _item(c, "RTYPE")["role"] = "perception"
    _item(c, "RTYPE")["report_options"] = [3]


MALFORMED = [
    (_drop_vi, 'item "TT1".text: label "vi" is missing. Add the Vietnamese text under vi'),
    (_decompose, 'item "CC1".text.vi: text is not NFC-normalised'),
    (_duplicate_item, 'item "TC1": item code appears twice'),
    (_unknown_scale, 'item "TC1": unknown scale "satisfaction-7"'),
    (_typo_key, 'item "TC1": unknown key "requried"'),
    (_orphan_item, 'item "TC3": satisfaction item is not in the index tree'),
    (_unknown_tree_item, 'index node "TC": lists item "TC9", which no section defines'),
    (_tree_lists_overall, 'lists item "HL", which is not a satisfaction choice item'),
    (_listed_twice, 'index node "TT": lists item "TC1", which node "TC" lists already'),
    (_bad_role, 'item "TC1": unknown role "satisfied"'),
    (_bad_method, 'scoring.method: unknown scoring method "top3box"'),
    (_bad_version, "version: version '1.2' is not a whole number"),
    (_duplicate_option, "option code 1 appears twice"),
    (_zero_option, "is not a whole number from 1 to 99. Code 0 is reserved"),
    (
        _four_level_satisfaction,
        'must use a 5-level scale coded 1, 2, 3, 4, 5. Use scale "satisfaction-5"',
    ),
    (_label_as_string, "title: needs both languages"),
    (_two_comments, "at most one comment item"),
    (_report_option_outside_scale, "report_options [3] are not codes of its options"),
]


@pytest.mark.parametrize(
    ("mutate", "message"), MALFORMED, ids=[m.__name__.strip("_") for m, _ in MALFORMED]
)
def test_each_mistake_has_its_own_message(tmp_path: Path, mutate: Any, message: str) -> None:
    content = _service_content()
    mutate(content)
    path = _write(tmp_path, content)
    with pytest.raises(QuestionnaireError) as caught:
        load(path)
    assert str(caught.value).startswith(str(path))  # the message names the file first
    assert message in str(caught.value)


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sipas-service.yaml"
    path.write_text("id: sipas-service\nversion: 1\ntitle: {vi: a, en: [b\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"line \d+: not valid YAML"):
        load(path)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sipas-service.yaml"
    path.write_text("id: sipas-service\nversion: 1\nversion: 2\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match='key "version" appears twice'):
        load(path)


def test_a_comma_inside_braces_gets_a_hint(tmp_path: Path) -> None:
    text = Path(questionnaires.DIRECTORY / "sipas-service.yaml").read_text(encoding="utf-8")
    broken = text.replace('vi: "Học sinh, sinh viên"', "vi: Học sinh, sinh viên")
    assert broken != text
    text = broken
    path = tmp_path / "sipas-service.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="put quotes around a text that contains a comma"):
        load(path)


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "sipas-service.yaml"
    path.write_bytes("title: Phiếu".encode("utf-16"))
    with pytest.raises(QuestionnaireError, match="not UTF-8"):
        load(path)
    with pytest.raises(QuestionnaireError, match="file not found"):
        load(tmp_path / "nothing.yaml")


def test_the_file_name_must_match_the_id(tmp_path: Path) -> None:
    path = _write(tmp_path, _service_content(), name="my-form.yaml")
    with pytest.raises(
        QuestionnaireError, match='declares id "sipas-service" but is named "my-form.yaml"'
    ):
        load(path)


def test_content_hash_ignores_formatting_but_not_content(tmp_path: Path) -> None:
    original = questionnaires.get("sipas-service")
    reformatted = _write(tmp_path, _service_content())  # same content, other layout and comments
    assert load(reformatted).content_hash == original.content_hash
    changed = _service_content()
    _item(changed, "TC1")["text"]["en"] = "Signs are clear"
    assert load(_write(tmp_path, changed)).content_hash != original.content_hash


# -- the command line ----------------------------------------------------------------------------


def test_check_command_passes_shipped_files() -> None:
    result = CliRunner().invoke(main, ["questionnaires", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok: ") == 4
    assert "sipas-service v1, 30 questions, 16 scored items" in result.output


def test_check_command_reports_a_bad_file(tmp_path: Path) -> None:
    content = _service_content()
    _drop_vi(content)
    bad = _write(tmp_path, content)
    good = questionnaires.DIRECTORY / "sipas-kiosk.yaml"
    result = CliRunner().invoke(main, ["questionnaires", "check", str(good), str(bad)])
    assert result.exit_code == 1
    assert "ok: questionnaires/sipas-kiosk.yaml" in result.output
    assert f'error: {bad}, item "TT1".text: label "vi" is missing' in result.output


# -- checking answers ------------------------------------------------------------------------


def test_check_answers_cleans_and_judges_validity() -> None:
    q = questionnaires.get("sipas-service")
    codes = {i.code: "0" for i in q.satisfaction_items}  # "cannot judge" everywhere
    codes["HL"] = "3"
    checked = check_answers(q, codes)
    assert checked.ok and not checked.valid  # answered, but no criterion judged
    for item in list(q.satisfaction_items)[:8]:
        codes[item.code] = "4"
    assert check_answers(q, codes).valid  # 8 of 16 = at least half


def test_check_answers_problems() -> None:
    q = questionnaires.get("sipas-service")
    checked = check_answers(
        q, {"TC1": "6", "TC2": "x", "HL": "0", "NOPE": "1", "comment": "a\x00b"}
    )
    kinds = {p.item: p.kind for p in checked.problems}
    assert kinds["TC1"] == "out_of_range"
    assert kinds["TC2"] == "not_a_code"
    assert kinds["HL"] == "out_of_range"  # the overall question has no "cannot judge"
    assert kinds["NOPE"] == "unknown_item"
    assert kinds["comment"] == "invalid_characters"
    assert kinds["TT1"] == "missing"
    assert "Q10_5" not in kinds  # optional


def test_multi_questions_expand_to_yes_no_columns() -> None:
    q = questionnaires.get("sipas-2023")
    checked = check_answers(q, {"Q2": ["1", "6"]})
    assert [checked.codes[f"Q2_{n}"] for n in range(1, 8)] == [1, 2, 2, 2, 2, 1, 2]
    assert check_answers(q, {"Q2": ["8"]}).problems[0].kind == "out_of_range"
