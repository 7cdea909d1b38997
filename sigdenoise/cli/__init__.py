"""The command line: the Typer app and its commands, one module each (grid, report, denoise,
train). A command parses its options into a settings object, calls the library and prints; it is
the only place that prints. Bad input ends in one line on stderr naming the option or file at
fault, exit code 2 (common.one_line_errors)."""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from sigdenoise.cli import denoise, grid, report, train
from sigdenoise.cli.common import OneLineErrors


class Group(TyperGroup):
    def list_commands(self, ctx):  # keep the order the commands are registered in
        return list(self.commands)


app = typer.Typer(
    cls=Group,
    no_args_is_help=True,
    add_completion=False,
    help="Denoise 1-D signals with autoencoders; reproduce and extend the sinusoid study.",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from sigdenoise import __version__

        typer.echo(f"sigdenoise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version, help="Print the version and exit."),
) -> None:
    pass


for command in (grid.grid, report.report, denoise.denoise, train.train):
    app.command(cls=OneLineErrors)(command)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="sigdenoise")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
