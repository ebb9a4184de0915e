"""Finding texts in every language the server speaks, from one catalogue per language.

Findings are stored as data, `{code, path, severity, params}`, and read in the reader's language:
`render_finding(f, lang)` gives the API shape `{code, path, message, severity}`. The catalogues
are YAML files in `app/i18n/catalogues/`, one per language, named by its tag (`fr.yaml`); adding a
language is adding a file there (or calling `register_catalogue`), never code. English is the
default language and the text of any key another catalogue lacks; a key no catalogue knows shows
as the finding's code. Pure Python (stdlib and yaml): the offline district client imports it.

What params may hold, besides the figures and names a text shows:
- `template`: the catalogue key whose text renders the finding, when it is not the finding's
  code. A form rule's code is the form's own (any `REP_LE_ENR`), so its findings name one of the
  `RULE_*` frames, and a rule code can never pick up an engine text by accident.
- a value that is a mapping of language → text (a form rule's own message, as its definition
  gives it; a text stored before findings were data) shows in the reader's language, else in
  English, else its first text.
- `where`: the combination of categories a finding is about (`grade=P1, sex=F`); the text is then
  framed by the catalogue's `IN_COMBINATION`.
A placeholder `{name:@group}` shows its param through the catalogue's `terms[group]` (a word to
translate, not a figure); a param missing from a finding shows as `{name}`, rendering never
raises."""

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LANGUAGE = "en"
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogues"
_TAG = re.compile(r"^[a-z]{2,3}$")  # a primary language subtag, as Accept-Language is matched
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# One part of a compiled text: literal text, then a field (None at the end) with its format spec,
# conversion and terms group.
_Part = tuple[str, str | None, str, str | None, str | None]


@dataclass(frozen=True)
class _Catalogue:
    name: str
    texts: dict[str, str]
    compiled: dict[str, tuple[_Part, ...]]
    plain: dict[str, str]  # texts with only {name} placeholders: str.format_map fills them
    terms: dict[str, dict[str, str]]


class _Visible(dict[str, Any]):
    """Params where a missing one formats as its own placeholder."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _discover() -> dict[str, Path]:
    return {p.stem: p for p in sorted(CATALOGUE_DIR.glob("*.yaml")) if _TAG.match(p.stem)}


_FILES: dict[str, Path] = _discover()
_loaded: dict[str, _Catalogue] = {}  # catalogue files, read on first use
_registered: dict[str, _Catalogue] = {}  # register_catalogue's, over the files

LANGUAGES: tuple[str, ...] = ()
"""The languages of the catalogues present, the default (English) first. Rebound when a
catalogue is registered: read it as `app.i18n.LANGUAGES` (or call `languages()`), not as a name
imported once."""


def _refresh() -> None:
    global LANGUAGES
    others = sorted((set(_FILES) | set(_registered)) - {DEFAULT_LANGUAGE})
    LANGUAGES = (DEFAULT_LANGUAGE, *others)


_refresh()


def languages() -> tuple[str, ...]:
    """The languages of the catalogues present now, the default first."""
    return LANGUAGES


# ------------------------------------------------------------------ catalogues


def _compile(lang: str, key: str, text: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"catalogue {lang}: {key}: {exc} in {text!r}") from exc
    for literal, field, spec, conversion in parsed:
        if field is None:
            parts.append((literal, None, "", None, None))
            continue
        if not field.isidentifier() or (spec and "{" in spec) or conversion not in (None, "r", "s"):
            raise ValueError(
                f"catalogue {lang}: {key}: placeholder {{{field}}} must be a param name "
                "({name}, {name:@group} or {name!r})"
            )
        group = spec[1:] if spec and spec.startswith("@") else None
        parts.append((literal, field, "" if group else (spec or ""), conversion, group))
    return tuple(parts)


def _parse(lang: str, data: Any, source: str) -> _Catalogue:
    """Check and compile a catalogue's content; ValueError naming what is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError(f"catalogue {lang} ({source}): must be a mapping with `messages`")
    messages = data.get("messages")
    terms = data.get("terms") or {}
    if not isinstance(messages, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in messages.items()
    ):
        raise ValueError(f"catalogue {lang} ({source}): `messages` must map keys to texts")
    if not isinstance(terms, Mapping) or not all(
        isinstance(group, str)
        and isinstance(words, Mapping)
        and all(isinstance(w, str) and isinstance(t, str) for w, t in words.items())
        for group, words in terms.items()
    ):
        raise ValueError(f"catalogue {lang} ({source}): `terms` must map groups to words")
    texts = dict(messages)
    compiled = {k: _compile(lang, k, v) for k, v in texts.items()}
    return _Catalogue(
        name=str(data.get("name") or lang),
        texts=texts,
        compiled=compiled,
        plain={
            k: texts[k]
            for k, parts in compiled.items()
            if all(not spec and conv is None and group is None for _, _, spec, conv, group in parts)
        },
        terms={g: dict(words) for g, words in terms.items()},
    )


def _read(lang: str, path: Path) -> _Catalogue:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"catalogue {lang}: cannot read {path}: {exc}") from exc
    return _parse(lang, data, str(path))


def _catalogue(lang: str) -> _Catalogue | None:
    found = _registered.get(lang) or _loaded.get(lang)
    if found is None and lang in _FILES:
        found = _loaded[lang] = _read(lang, _FILES[lang])
    return found


def register_catalogue(lang: str, source: str | Path | Mapping[str, Any]) -> None:
    """Add (or replace) the catalogue of `lang`: a YAML file shaped like `catalogues/en.yaml`,
    or the same content as a mapping. From then on `LANGUAGES` includes it, Accept-Language can
    pick it and findings render in it (English for the keys it lacks)."""
    tag = lang.lower()
    if not _TAG.match(tag):
        raise ValueError(f"catalogue {lang!r}: the language must be a tag such as 'fr' or 'ht'")
    if isinstance(source, Mapping):
        made = _parse(tag, source, "mapping")
    else:
        made = _read(tag, Path(source))
    _registered[tag] = made
    _refresh()


def unregister_catalogue(lang: str) -> None:
    """Remove a catalogue `register_catalogue` added (a catalogue file present stays)."""
    _registered.pop(lang.lower(), None)
    _refresh()


def texts(lang: str) -> dict[str, str]:
    """The message texts of one language's own catalogue, by key (no fallback; {} if none)."""
    cat = _catalogue(lang)
    return dict(cat.texts) if cat else {}


def terms(lang: str) -> dict[str, dict[str, str]]:
    """The terms tables of one language's own catalogue (no fallback; {} if none)."""
    cat = _catalogue(lang)
    return {g: dict(w) for g, w in cat.terms.items()} if cat else {}


# ------------------------------------------------------------------ rendering


def _in_language(texts: Mapping[Any, Any], lang: str) -> str:
    text = texts.get(lang) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()), "")
    return str(text)


def _term(group: str, value: Any, cats: tuple[_Catalogue, ...]) -> Any:
    word = str(value).lower() if isinstance(value, bool) else str(value)
    for cat in cats:
        found = cat.terms.get(group, {}).get(word)
        if found is not None:
            return found
    return value


def _fill(
    parts: tuple[_Part, ...], lang: str, params: Mapping[str, Any], cats: tuple[_Catalogue, ...]
) -> str:
    out = []
    for literal, field, spec, conversion, group in parts:
        out.append(literal)
        if field is None:
            continue
        if field not in params:
            out.append("{" + field + "}")  # visible, so a missing figure is noticed, not hidden
            continue
        value = params[field]
        if isinstance(value, Mapping):
            value = _in_language(value, lang)
        if group is not None:
            value = _term(group, value, cats)
        if conversion == "r":
            value = repr(value)
        try:
            out.append(format(value, spec))
        except (TypeError, ValueError):
            out.append(str(value))
    return "".join(out)


def _text(key: str, lang: str, params: Mapping[str, Any]) -> str | None:
    own = _catalogue(lang) if lang != DEFAULT_LANGUAGE else None
    default = _catalogue(DEFAULT_LANGUAGE)
    for cat in (own, default):
        if cat is None:
            continue
        plain = cat.plain.get(key)
        if plain is not None:
            shown = _Visible(params)  # the usual case: filled by str.format_map, in C
            for name, value in params.items():
                if type(value) is dict:  # stored params are JSON: a mapping is a dict
                    shown[name] = _in_language(value, lang)
            return plain.format_map(shown)
        parts = cat.compiled.get(key)
        if parts is not None:
            cats = tuple(c for c in (own, default) if c is not None)
            return _fill(parts, lang, params, cats)
    return None


def render(code: str, lang: str, params: Mapping[str, Any] | None = None) -> str:
    """The text of a finding in `lang`: its catalogue's, else English, else the code itself."""
    params = params if isinstance(params, Mapping) else {}
    key = params.get("template")
    text = _text(key if isinstance(key, str) else code, lang, params)
    if text is None:
        return code
    where = params.get("where")
    if where:
        text = _text("IN_COMBINATION", lang, {"text": text, "where": where}) or text
    return text


def render_finding(f: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A stored finding in the API's shape `{code, path, message, severity}`, in `lang`.

    Takes the stored shape `{code, path, severity, params}`, and findings stored before they
    were data, `{code, path, message, severity, messages?}`, from their own text: `messages[lang]`,
    else the English one, else `message` (the language it was pushed in)."""
    code = str(f.get("code", ""))
    params = f.get("params")
    if isinstance(params, Mapping):
        message = render(code, lang, params)
    else:
        kept = f.get("messages")
        message = None
        if isinstance(kept, Mapping):
            message = kept.get(lang) or kept.get(DEFAULT_LANGUAGE)
        message = str(message or f.get("message") or code)
    return {
        "code": code,
        "path": f.get("path", ""),
        "message": message,
        "severity": f.get("severity"),
    }


def render_findings(fs: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Stored findings in the API's shape, in `lang` (see render_finding)."""
    return [render_finding(f, lang) for f in fs]


__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "languages",
    "register_catalogue",
    "render",
    "render_finding",
    "render_findings",
    "terms",
    "texts",
    "unregister_catalogue",
]
