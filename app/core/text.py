"""Text rules at the API edge, one of each: codes (what names a thing), human text (what a
person reads) and free JSON attributes. The CSV importer, every HTTP path and body, and the push
items use these, so a value refused one way is refused every way, on both databases."""

import json
import math
import re
import unicodedata
from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator, Field
from pydantic_core import CoreSchema, core_schema

# ASCII letters and digits, then also '.', '_' and '-'; never a leading separator, so no '..',
# no '-1', no '=1+2' (a spreadsheet formula), no space, control or look-alike character.
CODE_MAX = 64
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
CODE_RULE = "letters, digits, '.', '_' and '-' only, starting with a letter or digit, at most 64"
_CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")


def is_code(value: str, max_length: int = CODE_MAX) -> bool:
    """Whether `value` is a valid code (the one rule for every code the server stores)."""
    return len(value) <= max_length and _CODE_RE.fullmatch(value) is not None


class CodeRule:
    """`Annotated[str, CodeRule()]`: a code in a request body, text only (no number), checked by
    the one code rule; an error names the field."""

    def __init__(self, max_length: int = CODE_MAX) -> None:
        self.max_length = max_length

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        n = self.max_length

        def check(value: str) -> str:
            if not is_code(value, n):
                raise ValueError(CODE_RULE.replace("64", str(n)))
            return value

        return core_schema.no_info_after_validator_function(
            check,
            core_schema.str_schema(
                strict=True,
                min_length=1,
                max_length=n,
                pattern=CODE_PATTERN.replace("63", str(n - 1)),
            ),
        )


Code = Annotated[str, CodeRule()]
LevelCode = Annotated[str, CodeRule(32)]  # the education levels' column is 32 wide
GradeCode = Annotated[str, CodeRule(16)]
# In a path: FastAPI answers 422 naming `path.code` when the pattern does not match.
PathCode = Annotated[
    str, Path(min_length=1, max_length=CODE_MAX, pattern=CODE_PATTERN, examples=["DM-000001"])
]
LevelPathCode = Annotated[
    str, Path(min_length=1, max_length=32, pattern=CODE_PATTERN, examples=["primary"])
]

# ------------------------------------------------------------------ human text

# Bidirectional overrides and isolates make text display in another order than it is stored
# ("Trojan Source"); no name or label needs them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why `value` is not acceptable human text, or None."""
    for ch in value:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o <= 0x9F:
            if multiline and ch in "\n\t":
                continue
            return f"contains the control character U+{o:04X}"
        if ch in BIDI_CONTROLS:
            return f"contains the bidirectional control character U+{o:04X}"
        if 0xD800 <= o <= 0xDFFF:
            return "contains a lone surrogate (not valid Unicode)"
    if not value.strip():
        return "is blank"
    return None


class HumanText:
    """`Annotated[str, HumanText(200)]`: human text of at most 200 characters, text only: no
    control characters (except newline and tab in multi-line text), no bidi controls, not
    blank; kept in Unicode NFC."""

    def __init__(self, max_length: int, multiline: bool = False) -> None:
        self.max_length = max_length
        self.multiline = multiline

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        multiline = self.multiline

        def check(value: str) -> str:
            why = text_problem(value, multiline)
            if why:
                raise ValueError(why)
            return unicodedata.normalize("NFC", value)

        return core_schema.no_info_after_validator_function(
            check, core_schema.str_schema(strict=True, min_length=1, max_length=self.max_length)
        )


# ------------------------------------------------------------------ free JSON attributes

ATTRIBUTES_MAX_DEPTH = 4
ATTRIBUTES_MAX_BYTES = 16 * 1024
ATTRIBUTES_MAX_KEYS = 200


def _check_attributes(value: Any) -> Any:
    """Bounded free attributes: an object, at most 4 levels deep, 200 keys in all and 16 KB as
    JSON; every key and text is human text (checked without recursion, so depth costs nothing)."""
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    keys = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > ATTRIBUTES_MAX_DEPTH:
                raise ValueError(f"is nested more than {ATTRIBUTES_MAX_DEPTH} levels deep")
            if isinstance(node, dict):
                keys += len(node)
                if keys > ATTRIBUTES_MAX_KEYS:
                    raise ValueError(f"has more than {ATTRIBUTES_MAX_KEYS} keys")
                for k, v in node.items():
                    why = text_problem(k) if isinstance(k, str) else "has a key that is not text"
                    if why:
                        raise ValueError(f"key {k!r} {why}")
                    stack.append((v, depth + 1))
            else:
                if len(node) > ATTRIBUTES_MAX_BYTES:
                    raise ValueError(f"is over {ATTRIBUTES_MAX_BYTES} bytes as JSON")
                stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            why = text_problem(node, multiline=True) if node else None
            if why:
                raise ValueError(f"a text {why}")
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValueError("holds a number that is not finite")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > ATTRIBUTES_MAX_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {ATTRIBUTES_MAX_BYTES}")
    return value


Attributes = Annotated[
    dict[str, Any],
    BeforeValidator(_check_attributes),
    Field(
        description=f"Free attributes: an object at most {ATTRIBUTES_MAX_DEPTH} levels deep, "
        f"{ATTRIBUTES_MAX_KEYS} keys and {ATTRIBUTES_MAX_BYTES} bytes as JSON.",
    ),
]
