"""The district client's check path: the server's own engine, with no server code behind it.

`app.forms.checking` and the message catalogues of `app.i18n` import only the standard library,
pydantic and yaml, so a laptop runs the very same checks offline and reads their findings in the
same words (tests/forms/test_corpus.py keeps it that way: the client path runs in a separate
process and may load no `app` module outside `app.forms.checking` and `app.i18n`)."""

from app.forms.checking import (
    STANDARD_FORM_PATH,
    STANDARD_FORM_PATHS,
    CheckResult,
    CompiledForm,
    DefinitionError,
    Finding,
    FormDefinition,
    compile_form,
    load_definition_file,
    parse_definition,
)
from app.i18n import languages, register_catalogue, render_finding, render_findings

__all__ = [
    "STANDARD_FORM_PATH",
    "STANDARD_FORM_PATHS",
    "CheckResult",
    "CompiledForm",
    "DefinitionError",
    "Finding",
    "FormDefinition",
    "compile_form",
    "languages",
    "load_definition_file",
    "parse_definition",
    "register_catalogue",
    "render_finding",
    "render_findings",
]
