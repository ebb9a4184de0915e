"""`emis`: run the server and administer it (database, registry, users, tokens, forms, the
change log, the demo). One module per feature; each command runs in one unit of work."""

import typer

from app.cli.db import db_app
from app.cli.demo import demo
from app.cli.forms import forms_app
from app.cli.indicators import indicators_app
from app.cli.publish import publish_app, worker
from app.cli.registry import registry_app
from app.cli.report import report_app
from app.cli.returns import returns_app
from app.cli.review import review_app
from app.cli.serve import serve
from app.cli.sync import sync_app
from app.cli.users import audit, token_app, user_app

app = typer.Typer(
    help="EMIS census server: serve, migrate, import, manage users.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(forms_app, name="forms")
app.add_typer(sync_app, name="sync")
app.add_typer(indicators_app, name="indicators")
app.add_typer(returns_app, name="returns")
app.add_typer(review_app, name="review")
app.add_typer(publish_app, name="publish")
app.add_typer(report_app, name="report")
app.command()(serve)
app.command()(demo)
app.command()(audit)
app.command()(worker)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
