"""Which coding a response goes out in, by the client's Accept-Encoding (RFC 9110 §12.5.3)."""

import gzip

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from app.core.encoding import accepted, encode


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("br", None),
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("GZIP", "gzip"),
        ("gzip, deflate, br, zstd", "zstd"),  # what current browsers send
        ("zstd;q=0", None),
        ("zstd;q=0, *", "gzip"),  # everything but zstd
        ("gzip;q=1.0, zstd;q=0.5", "gzip"),  # the client's weights come first
        ("gzip;q=0.5, zstd;q=0.5", "zstd"),  # then the server's order
        ("*;q=0.1", "zstd"),
        ("gzip;q=bad", None),  # a q-value that is not a number accepts nothing
        (" , ,gzip ; q=0.3", "gzip"),
    ],
)
def test_accepted(header: str | None, coding: str | None) -> None:
    assert accepted(header) == coding


@given(st.text(max_size=80))
def test_any_header_gives_an_offered_coding_or_none(header: str) -> None:
    assert accepted(header) in {None, "zstd", "gzip"}


def test_encoded_bodies_unpack_to_the_same_bytes() -> None:
    body = b'{"rows": [' + b",".join(b'{"value": %d}' % i for i in range(5000)) + b"]}"
    assert zstandard.ZstdDecompressor().decompress(encode(body, "zstd")) == body
    assert gzip.decompress(encode(body, "gzip")) == body
    with pytest.raises(ValueError):
        encode(body, "br")
