"""`emis-sync`: the district office's client (offline store, import, push, pull)."""

import typer

from sync_client import __version__

app = typer.Typer(
    help="EMIS district sync client. Works offline; pushes when a connection appears.",
    no_args_is_help=True,
)


@app.command()
def version() -> None:
    """Print the client's version."""
    typer.echo(__version__)


@app.command()
def check(
    form_file: str = typer.Argument(..., help="Form definition (JSON or YAML)."),
    values_file: str = typer.Argument(..., help="A return's values as JSON."),
    lang: str = typer.Option("en", help="Language of the messages: en or fr."),
) -> None:
    """Check one return offline with the same rules as the server."""
    import json
    from pathlib import Path

    from sync_client.checks import compile_form, load_definition_file

    form = compile_form(load_definition_file(Path(form_file)))
    result = form.check(json.loads(Path(values_file).read_text(encoding="utf-8")), None, lang)
    for f in result.errors + result.warnings:
        typer.echo(f"{f.severity:7} {f.code:24} {f.path}: {f.message}")
    typer.echo(f"verdict: {result.status}")
    raise typer.Exit(1 if result.status != "ok" else 0)


def main() -> None:
    app()
