"""Form definitions as data: categories, data elements, rules and plausibility settings.

A definition is checked when it is parsed; every problem is collected and named."""

import json
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.forms.checking.expr import (
    COMPARISONS,
    ExprError,
    ExprTooComplex,
    parse_condition,
    parse_expr,
    refs,
)

# Presence pairs (DHIS2's compulsory and exclusive pairs): a side is present when any of its cells
# was sent, whatever the value, so they have no missing-value strategy.
PAIR_OPS = ("both_or_neither", "left_requires_right", "exclusive_pair")
Missing = Literal["skip_if_any_missing", "skip_if_all_missing", "never_skip"]
MISSING_STRATEGIES: tuple[Missing, ...] = get_args(Missing)
DEFAULT_MISSING: Missing = "skip_if_any_missing"
ELEMENT_TYPES = ("count", "boolean", "choice", "text", "date")
NUMERIC_TYPES = ("count", "boolean")
STANDARD_DIR = Path(__file__).resolve().parent.parent / "standard"
# Every shipped version of the standard census, in version order (each is loaded: returns of an
# older version stay readable); STANDARD_FORM_PATH is version 1, for what needs that one.
STANDARD_FORM_PATHS = (
    STANDARD_DIR / "annual_school_census.v1.yaml",
    STANDARD_DIR / "annual_school_census.v2.yaml",
)
STANDARD_FORM_PATH = STANDARD_FORM_PATHS[0]

Text = str | dict[str, str]


def text_in(value: Text, lang: str) -> str:
    """A label or message in the asked language (English when missing)."""
    if isinstance(value, str):
        return value
    return value.get(lang) or value.get("en") or next(iter(value.values()), "")


class DefinitionError(ValueError):
    """A definition that cannot be used; `problems` lists each, naming what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Category(_Strict):
    label: Text
    options: list[str] = Field(min_length=1)

    @field_validator("options", mode="before")
    @classmethod
    def _options_as_text(cls, v: Any) -> Any:
        return [str(o) for o in v] if isinstance(v, list) else v


class DataElement(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    type: Literal["count", "boolean", "choice", "text", "date"]
    dimensions: list[str] = Field(default_factory=list)
    required: bool = False
    choices: list[str] | None = None


class Rule(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    left: str
    op: Literal[
        "==", "!=", "<", "<=", ">", ">=", "both_or_neither", "left_requires_right", "exclusive_pair"
    ]
    right: str
    for_each: list[str] = Field(default_factory=list)
    when: str | None = None
    severity: Literal["error", "warning"] = "error"
    # Stored definitions carry the default explicitly (model_dump), pair rules included, so only
    # a non-default strategy on a pair rule is refused (in _check).
    missing: Missing = DEFAULT_MISSING
    message: Text


class Plausibility(_Strict):
    enrolment_element: str = "enrolment"
    teachers_element: str = "teachers"
    grade_category: str = "grade"
    max_change_share: float = Field(0.5, gt=0)
    min_pupils: int = Field(20, ge=0)
    ptr_range: tuple[float, float] = (5.0, 80.0)
    cohort_factor: float = Field(1.5, gt=1)
    cohort_sequences: list[list[str]] = Field(default_factory=list)


class FormDefinition(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)  # a code (app.core.text)
    version: int = Field(ge=1)
    title: Text
    categories: dict[str, Category]
    elements: list[DataElement] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    plausibility: Plausibility | None = None

    def element(self, code: str) -> DataElement | None:
        return next((e for e in self.elements if e.code == code), None)


def _check(defn: FormDefinition) -> list[str]:
    problems: list[str] = []
    elements: dict[str, DataElement] = {}
    for e in defn.elements:
        if e.code in elements:
            problems.append(f"element {e.code}: duplicate element code")
        elements[e.code] = e
        for d in e.dimensions:
            if d not in defn.categories:
                problems.append(f"element {e.code}: unknown dimension {d!r}")
        if len(set(e.dimensions)) != len(e.dimensions):
            problems.append(f"element {e.code}: a dimension is listed twice")
        if e.type == "choice" and not e.choices:
            problems.append(f"element {e.code}: a choice element needs choices")
    for code, cat in defn.categories.items():
        if len(set(cat.options)) != len(cat.options):
            problems.append(f"category {code}: duplicate option")
    seen_rules: set[str] = set()
    for r in defn.rules:
        where = f"rule {r.code}"
        if r.code in seen_rules:
            problems.append(f"{where}: duplicate rule code")
        seen_rules.add(r.code)
        for d in r.for_each:
            if d not in defn.categories:
                problems.append(f"{where}: unknown dimension {d!r} in for_each")
        if r.op in PAIR_OPS and r.missing != DEFAULT_MISSING:
            problems.append(
                f"{where}: 'missing: {r.missing}' does not apply to {r.op}, which checks only "
                "whether cells were sent; remove 'missing' from this rule"
            )
        try:
            sides = [parse_expr(r.left), parse_expr(r.right)]
            if r.when:
                sides.append(parse_condition(r.when))  # type: ignore[arg-type]
        except ExprTooComplex as exc:
            problems.append(f"{where}: {exc}")
            continue
        except ExprError as exc:
            problems.append(f"{where}: cannot parse expression: {exc}")
            continue
        for ref in [x for side in sides for x in refs(side)]:
            el = elements.get(ref.element)
            if el is None:
                problems.append(f"{where}: unknown element {ref.element!r}")
                continue
            if r.op not in PAIR_OPS and el.type not in NUMERIC_TYPES:
                problems.append(f"{where}: element {ref.element!r} is {el.type}, not a number")
            for d in r.for_each:
                if d not in el.dimensions:
                    problems.append(
                        f"{where}: element {ref.element!r} has no dimension {d!r} named in for_each"
                    )
            for dim, opts in ref.filters:
                if dim not in el.dimensions:
                    problems.append(f"{where}: element {ref.element!r} has no dimension {dim!r}")
                elif dim in defn.categories:
                    bad = sorted(opts - set(defn.categories[dim].options))
                    if bad:
                        problems.append(f"{where}: unknown option(s) {', '.join(bad)} of {dim!r}")
                if dim in r.for_each:
                    problems.append(f"{where}: {dim!r} is both filtered and in for_each")
    p = defn.plausibility
    if p is not None:
        for name in (p.enrolment_element, p.teachers_element):
            if name not in elements:
                problems.append(f"plausibility: unknown element {name!r}")
        if p.grade_category not in defn.categories:
            problems.append(f"plausibility: unknown category {p.grade_category!r}")
        else:
            grades = set(defn.categories[p.grade_category].options)
            for seq in p.cohort_sequences:
                bad = [g for g in seq if g not in grades]
                if bad:
                    problems.append(
                        f"plausibility: unknown grade(s) {', '.join(bad)} in cohort_sequences"
                    )
        lo, hi = p.ptr_range
        if lo >= hi:
            problems.append("plausibility: ptr_range must be [low, high] with low < high")
    return problems


def parse_definition(data: Any) -> FormDefinition:
    """Build and check a definition from plain data; raise DefinitionError naming each problem."""
    if not isinstance(data, dict):
        raise DefinitionError(["a form definition must be a mapping"])
    try:
        defn = FormDefinition.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = list(e["loc"])
            where = ".".join(str(x) for x in loc)
            if len(loc) >= 2 and loc[0] in ("rules", "elements") and isinstance(loc[1], int):
                items = data.get(loc[0]) or []
                if loc[1] < len(items) and isinstance(items[loc[1]], dict):
                    kind = "rule" if loc[0] == "rules" else "element"
                    where = f"{kind} {items[loc[1]].get('code', loc[1])}: " + ".".join(
                        str(x) for x in loc[2:]
                    )
            problems.append(f"{where}: {e['msg']}")
        raise DefinitionError(problems) from exc
    problems = _check(defn)
    if problems:
        raise DefinitionError(problems)
    return defn


def load_definition_file(path: Path) -> FormDefinition:
    """Read a JSON or YAML definition file and check it."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise DefinitionError([f"{Path(path).name}: cannot be read: {exc}"]) from exc
    return parse_definition(data)


__all__ = [
    "COMPARISONS",
    "DEFAULT_MISSING",
    "ELEMENT_TYPES",
    "MISSING_STRATEGIES",
    "PAIR_OPS",
    "STANDARD_FORM_PATH",
    "STANDARD_FORM_PATHS",
    "Category",
    "DataElement",
    "DefinitionError",
    "FormDefinition",
    "Plausibility",
    "Rule",
    "load_definition_file",
    "parse_definition",
    "text_in",
]
