"""The language of messages, from an Accept-Language header (RFC 9110 §12.5.4)."""

from typing import Annotated

from fastapi import Depends, Header

MAX_HEADER = 1000  # characters read; browsers send far less
SUPPORTED = ("en", "fr")  # the languages of every message; the first is the default


def pick_language(header: str | None, supported: tuple[str, ...] = SUPPORTED) -> str:
    """The supported language the header prefers (highest q-value, then the earliest), or the
    first supported one when none is acceptable or the header cannot be read.

    A region counts as its language (`fr-CA` is `fr`), `q=0` means "not this one", and `*` stands
    for every language the header does not name."""
    default = supported[0]
    if not header:
        return default
    named: dict[str, tuple[float, int]] = {}  # language → (q, position) of its best entry
    wildcard: tuple[float, int] | None = None
    for position, part in enumerate(header[:MAX_HEADER].split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        lang = tag.replace("_", "-").split("-")[0].lower()
        q = _quality(params)
        if not lang or q is None:
            continue  # an unreadable entry is ignored, the others still count
        if lang == "*":
            wildcard = wildcard or (q, position)
        elif lang not in named or q > named[lang][0]:
            named[lang] = (q, position)
    choices = []
    for order, lang in enumerate(supported):
        q, position = named.get(lang) or wildcard or (0.0, 0)
        if q > 0:
            choices.append((-q, position, order, lang))
    return min(choices)[3] if choices else default


def _quality(params: list[str]) -> float | None:
    """The q-value among a language range's parameters (1 when absent); None when malformed."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0 <= q <= 1 else None
    return 1.0


def request_language(
    accept_language: Annotated[
        str | None,
        Header(
            description="Language of messages: en or fr (q-values honoured; English otherwise).",
            examples=["fr"],
        ),
    ] = None,
) -> str:
    """The language a request asks for (Accept-Language), among those the server speaks."""
    return pick_language(accept_language, SUPPORTED)


Lang = Annotated[str, Depends(request_language)]
