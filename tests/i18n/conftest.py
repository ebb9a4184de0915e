"""A test-only language: registered for one test, gone afterwards."""

from collections.abc import Iterator
from pathlib import Path

import pytest

import app.i18n as i18n

XX = Path(__file__).parent / "xx.yaml"


@pytest.fixture
def xx_language() -> Iterator[str]:
    """The test-only catalogue xx.yaml, registered as language "xx"."""
    i18n.register_catalogue("xx", XX)
    yield "xx"
    i18n.unregister_catalogue("xx")
