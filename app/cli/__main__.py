"""`python -m app.cli`: the same as `emis`."""

from app.cli import main

main()
