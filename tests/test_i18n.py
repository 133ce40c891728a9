"""Every interface text has its English translation, and the compiled catalogue is current."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from .conftest import Field, Survey, full_answers

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "survey_app" / "translations" / "en" / "LC_MESSAGES"
METHODS = [("survey_app/**.py", "python"), ("survey_app/**/templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = extract_from_dir(str(ROOT), METHODS, keywords={"_": None, "_l": None, "gettext": None})
    return {message if isinstance(message, str) else message[0] for _f, _l, message, *_ in found}


def test_every_text_is_translated() -> None:
    with open(CATALOGUE / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    translations = {m.id: m.string for m in catalogue if m.id}
    texts = source_messages()
    assert len(texts) > 40
    missing = sorted(t for t in texts if not translations.get(t))
    assert missing == [], "run `make i18n` and translate these in messages.po"


def test_compiled_catalogue_matches_the_po_file() -> None:
    with open(CATALOGUE / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    with open(CATALOGUE / "messages.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [m.id for m in catalogue if m.id and compiled.gettext(m.id) != m.string]
    assert stale == [], "run `pybabel compile -d survey_app/translations`"


def test_reopening_after_sending_says_so(client: FlaskClient, survey: Survey, field: Field) -> None:
    assert survey.submit(field.desk, full_answers()).status_code == 303
    page = client.get(f"/s/{field.desk}").get_data(as_text=True)
    assert "Ông/Bà đã gửi đánh giá" in page and "?again=1" in page
    assert 'name="form_token"' in client.get(f"/s/{field.desk}?again=1").get_data(as_text=True)
    # Another desk is not affected.
    assert 'name="form_token"' in client.get(f"/s/{field.other_desk}").get_data(as_text=True)
    english = client.get(f"/s/{field.desk}?lang=en").get_data(as_text=True)
    assert "You have already sent your feedback" in english
