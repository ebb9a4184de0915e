"""The one code rule, the human-text rule and strict time stamps, as plain functions."""

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from app.core.bounds import Instant
from app.core.text import is_code, text_problem


@pytest.mark.parametrize("code", ["DM", "DM-000001", "annual_school_census", "a.b-c_d", "9" * 64])
def test_good_codes(code: str) -> None:
    assert is_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "..",
        ".x",
        "-1",
        "=1+2",
        "+1",
        "@x",
        "a b",
        "a\tb",
        "DM-1\n",
        "DM-1\r\n",
        "é",
        "x" * 65,
        "DM\u202e1",
        "DM-000001\u200b",
        "a/b",
        "a%2fb",
        "a;b",
    ],
)
def test_bad_codes(code: str) -> None:
    assert not is_code(code)


@pytest.mark.parametrize(
    ("text", "multiline", "ok"),
    [
        ("École Nationale", False, True),
        ('=HYPERLINK("x")', False, True),  # free text may look like a formula (CSV neutralises)
        ("a\nb", False, False),
        ("a\nb\tc", True, True),
        ("a\u0000b", True, False),
        ("a\u001bb", False, False),
        ("a\u0085b", False, False),
        ("a\u2067b", False, False),
        ("   ", False, False),
    ],
)
def test_human_text(text: str, multiline: bool, ok: bool) -> None:
    assert (text_problem(text, multiline) is None) is ok


INSTANT = TypeAdapter(Instant)


def test_instants_are_rfc3339_text_in_range_and_end_in_utc() -> None:
    assert INSTANT.validate_python("2025-11-01T00:00:00.123456789-05:00") == datetime(
        2025, 11, 1, 5, 0, 0, 123456, tzinfo=UTC
    )
    for bad in [
        12345,
        "12345",
        "2025-11-01",
        "2025-11-01T00:00:00",
        "9999-12-31T23:59:59-14:00",
        "1899-12-31T23:59:59Z",
        "2025-02-30T00:00:00Z",
        True,
        None,
    ]:
        with pytest.raises(ValidationError):
            INSTANT.validate_python(bad)
