"""The command line: the Typer app and its commands, one module each (grid, report, denoise,
train). A command parses its options into a settings object, calls the library and prints; it is
the only place that prints. Bad input ends in one line on stderr naming the option or file at
fault, exit code 2 (common.one_line_errors)."""

from __future__ import annotations

import importlib
import sys

import typer
from typer.core import TyperGroup

# The commands, in the order --help lists them, with the line --help shows: each command's module
# (and torch, pandas, scipy behind it) is imported only when that command runs or shows its own
# help, so `sigdenoise --help` and `--version` start in a fraction of a second.
COMMANDS = {
    "grid": "Train and compare the autoencoder grid (activation x latent x noise) with the SVD projector.",
    "report": "Regenerate the report: the study's figures, statistics over seeds, baselines, the Bayes ceiling "
              "and the claims table.",
    "denoise": "Denoise your own signals, of any length; writes the same shape back.",
    "train": "Train one autoencoder and save it for `denoise --model`.",
}


class Group(TyperGroup):
    """The commands, loaded on first use (COMMANDS); the group's own help lists them from
    COMMANDS without loading any."""

    listing = False

    def list_commands(self, ctx):
        return list(COMMANDS)

    def format_help(self, ctx, formatter):
        self.listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self.listing = False

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        if self.listing:  # a stand-in that only carries the line --help shows
            return typer.core.TyperCommand(name, help=COMMANDS[name], callback=lambda: None)
        from sigdenoise.cli.common import OneLineErrors

        one = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        one.command(cls=OneLineErrors)(getattr(importlib.import_module(f"sigdenoise.cli.{name}"), name))
        command = typer.main.get_command(one)
        command.name = name
        return command


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



def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="sigdenoise")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
