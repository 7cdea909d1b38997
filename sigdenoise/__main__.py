"""``python -m sigdenoise`` runs the same Typer app as the ``sigdenoise`` console script."""

from sigdenoise.cli import app

app(prog_name="sigdenoise")
