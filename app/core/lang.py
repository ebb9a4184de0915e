"""The language of messages, from an Accept-Language header (RFC 9110 §12.5.4).

The languages the server speaks are those of its message catalogues (`app.i18n.LANGUAGES`,
English first): `SUPPORTED` reads them at each use, so a catalogue added at run time
(`app.i18n.register_catalogue`) can be asked for at once."""

from typing import Annotated

from fastapi import Depends, Header

import app.i18n as i18n

MAX_HEADER = 1000  # characters read; browsers send far less


def __getattr__(name: str) -> tuple[str, ...]:
    # SUPPORTED is looked up, not bound once: it follows the catalogues present.
    if name == "SUPPORTED":
        return i18n.LANGUAGES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pick_language(header: str | None, supported: tuple[str, ...] | None = None) -> str:
    """The supported language the header prefers (highest q-value, then the earliest), or the
    first supported one when none is acceptable or the header cannot be read. `supported` is
    the catalogues' languages (`SUPPORTED`) unless given.

    A region counts as its language (`fr-CA` is `fr`), `q=0` means "not this one", and `*` stands
    for every language the header does not name."""
    if supported is None:
        supported = i18n.LANGUAGES
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
            description="Language of messages: one the server has a message catalogue for "
            "(en, fr, …; q-values honoured; English otherwise).",
            examples=["fr"],
        ),
    ] = None,
) -> str:
    """The language a request asks for (Accept-Language), among those the server speaks."""
    return pick_language(accept_language, i18n.LANGUAGES)


Lang = Annotated[str, Depends(request_language)]
