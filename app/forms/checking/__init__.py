"""The census check engine. Pure Python (stdlib, pydantic, yaml): the district client imports it
without any server code, and the server uses the very same functions."""

from app.forms.checking.checker import CheckResult, CompiledForm, Finding, compile_form
from app.forms.checking.definition import (
    STANDARD_FORM_PATH,
    STANDARD_FORM_PATHS,
    DefinitionError,
    FormDefinition,
    load_definition_file,
    parse_definition,
    text_in,
)

__all__ = [
    "STANDARD_FORM_PATH",
    "STANDARD_FORM_PATHS",
    "CheckResult",
    "CompiledForm",
    "DefinitionError",
    "Finding",
    "FormDefinition",
    "compile_form",
    "load_definition_file",
    "parse_definition",
    "text_in",
]
