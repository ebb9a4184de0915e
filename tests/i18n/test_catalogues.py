"""The catalogues: one file per language, each covering every text the server shows."""

import string
import subprocess
import sys
from pathlib import Path

import pytest

import app.i18n as i18n
from app.forms.checking.definition import ELEMENT_TYPES
from app.forms.checking.messages import ENGINE_KEYS
from app.sync.messages import PUSH_CODES

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = sorted(p.stem for p in i18n.CATALOGUE_DIR.glob("*.yaml"))


def placeholders(text: str) -> set[tuple[str, str]]:
    return {(f, spec) for _, f, spec, _ in string.Formatter().parse(text) if f is not None}


def test_languages_are_the_catalogue_files_english_first():
    assert i18n.LANGUAGES == i18n.languages() == ("en", *[x for x in BUILT_IN if x != "en"])
    assert {"en", "fr"} <= set(i18n.LANGUAGES)


@pytest.mark.parametrize("lang", BUILT_IN)
def test_every_code_the_server_reports_has_a_text(lang):
    """Each engine code, rule frame and push code reads in every shipped language."""
    missing = set(ENGINE_KEYS) | set(PUSH_CODES) | {"STORED_TEXT"}
    assert missing - set(i18n.texts(lang)) == set()


@pytest.mark.parametrize("lang", [x for x in BUILT_IN if x != "en"])
def test_translations_use_the_same_placeholders_as_english(lang):
    en = i18n.texts("en")
    for key, text in i18n.texts(lang).items():
        assert key in en, f"{lang}: {key} is not an English key"
        assert placeholders(text) == placeholders(en[key]), f"{lang}: {key}"


@pytest.mark.parametrize("lang", BUILT_IN)
def test_terms_word_every_element_type_and_presence(lang):
    terms = i18n.terms(lang)
    assert set(terms["expected"]) == set(ELEMENT_TYPES)
    assert set(terms["presence"]) == {"present", "missing"}


def test_a_catalogue_is_checked_when_registered():
    with pytest.raises(ValueError, match="tag"):
        i18n.register_catalogue("not a tag", {"messages": {}})
    with pytest.raises(ValueError, match="NEGATIVE_COUNT"):
        i18n.register_catalogue("zz", {"messages": {"NEGATIVE_COUNT": "{element"}})
    with pytest.raises(ValueError, match="param name"):
        i18n.register_catalogue("zz", {"messages": {"NEGATIVE_COUNT": "{0} {a.b}"}})
    with pytest.raises(ValueError, match="messages"):
        i18n.register_catalogue("zz", {"messages": ["not", "a", "mapping"]})
    with pytest.raises(ValueError, match="cannot read"):
        i18n.register_catalogue("zz", ROOT / "no-such-catalogue.yaml")
    assert "zz" not in i18n.LANGUAGES


def test_catalogues_need_no_server_code():
    """The district client renders findings offline: app.i18n loads no server library."""
    script = (
        "import sys, app.i18n as i\n"
        "i.render('NEGATIVE_COUNT', 'fr', {'element': 'x', 'value': -1})\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(done.stdout.split())
    assert not loaded & {"fastapi", "starlette", "sqlalchemy", "sqlmodel", "pydantic"}
    assert {m for m in loaded if m.startswith("app.")} == {"app.i18n"}
