"""Shared pieces of the command line: one-line errors and the consoles (stdout for results,
stderr for progress and errors). Commands import these; only CLI modules print."""

from __future__ import annotations

import typer
from rich.console import Console
from typer.core import TyperCommand

# Click's UsageError, the base of every parsing error (vendored inside typer since 0.29).
UsageError = typer.BadParameter.__bases__[0]
err = Console(stderr=True)
stdout = Console()


def count(n: int, noun: str) -> str:
    """'1 window', '2,000 windows': a number and its regular noun, for messages."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line on stderr and return the Exit to raise: `raise fail("...")`."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


class OneLineErrors(TyperCommand):
    """Parsing errors as a single line instead of a usage banner and box."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except UsageError as e:
            raise fail(e.format_message()) from None
