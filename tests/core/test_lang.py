"""Accept-Language: which of English and French a caller gets."""

import pytest

from app.core.lang import MAX_HEADER, pick_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("FR", "fr"),
        ("en", "en"),
        ("fr-CA", "fr"),
        ("fr_FR", "fr"),
        ("de, fr;q=0.9", "fr"),
        ("de-DE,de;q=0.9,fr;q=0.8,en;q=0.7", "fr"),
        ("en;q=0.5, fr;q=0.8", "fr"),
        ("fr;q=0.8, en", "en"),
        ("fr, en", "fr"),
        ("en, fr", "en"),
        ("fr;q=0.5, en;q=0.5", "fr"),
        ("fr;q=0", "en"),
        ("fr;q=0, en;q=0", "en"),
        ("fr-CA;q=0, fr;q=0.7", "fr"),
        ("*", "en"),
        ("fr;q=0, *", "en"),
        ("en;q=0, *;q=0.1", "fr"),
        ("de, *;q=0.5, en;q=0.2", "fr"),
        ("de", "en"),
        ("garbage", "en"),
        (";;;,,,", "en"),
        ("fr;q=abc", "en"),
        ("fr;q=abc, fr-CA", "fr"),
        ("fr;q=2", "en"),
        ("fr;q=nan", "en"),
        ("fr ; q = 0.9 , de", "fr"),
        ("fr;level=1;q=0.4, en;q=0.3", "fr"),
    ],
)
def test_pick_language(header, expected):
    """The caller gets the language it prefers most among en and fr, English otherwise."""
    assert pick_language(header) == expected


def test_other_supported_languages_and_default():
    """The first supported language is the default; others are picked by the same rules."""
    assert pick_language("de", supported=("fr", "en")) == "fr"
    assert pick_language("pt-BR, es;q=0.9", supported=("en", "fr", "es")) == "es"


def test_an_oversized_header_is_read_only_in_part():
    """A huge header is cut at MAX_HEADER characters rather than parsed whole."""
    header = "de;q=0.1, " * (MAX_HEADER // 10) + "fr"
    assert len(header) > MAX_HEADER
    assert pick_language(header) == "en"
    assert pick_language("fr, " + header) == "fr"
