"""The district client's check path: the server's own engine, with no server code behind it.

`app.forms.checking` imports only the standard library, pydantic and yaml, so a laptop runs the
very same checks offline (tests/forms/test_corpus.py keeps it that way: the client path runs in a
separate process and may load no `app` module outside `app.forms.checking`)."""

from app.forms.checking import (
    STANDARD_FORM_PATH,
    CheckResult,
    CompiledForm,
    DefinitionError,
    Finding,
    FormDefinition,
    compile_form,
    load_definition_file,
    parse_definition,
)

__all__ = [
    "STANDARD_FORM_PATH",
    "CheckResult",
    "CompiledForm",
    "DefinitionError",
    "Finding",
    "FormDefinition",
    "compile_form",
    "load_definition_file",
    "parse_definition",
]
