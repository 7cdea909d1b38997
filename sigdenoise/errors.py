"""The errors sigdenoise raises on purpose, in one module that imports nothing of the package.

Every one derives from `SigdenoiseError`, the one class the command line catches and prints as a
single line; anything else is a bug and keeps its traceback. Each is also a ValueError, as
scikit-learn's are, so that library callers may catch the familiar class.

Two helpers word the messages: `require`, the one idiom of every settings check, and `count`.
"""

from __future__ import annotations

import math
from pathlib import Path


class SigdenoiseError(ValueError):
    """A bad setting, file or model, reported in one line that names what is at fault."""

    def __reduce__(self):
        # Rebuilt from its message and attributes, not from its constructor's arguments (which
        # differ per class), so that it crosses to another process (a Ray task's driver) as itself.
        return _rebuild, (type(self), str(self), dict(self.__dict__))


def _rebuild(cls: type, message: str, state: dict) -> SigdenoiseError:
    error = cls.__new__(cls)
    ValueError.__init__(error, message)
    error.__dict__.update(state)
    return error


class SettingsError(SigdenoiseError):
    """A bad setting; `option` is the CLI option that sets it."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option


class BundleError(SigdenoiseError):
    """A model file that cannot be used or written; the message names the file."""


class SignalIOError(SigdenoiseError):
    """A file that cannot be read or written as signals; the message names file, line and column."""

    def __init__(self, path, message: str, line: int | None = None, column: int | None = None, what: str = "line"):
        where = f"{path}" + (f", {what} {line}" if line is not None else "")
        where += f", column {column}" if column is not None else ""
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column = Path(path), line, column


class OutputError(SigdenoiseError):
    """A file that cannot be written (a full disk, a read-only folder, a special file in its
    place); the message names the file. detail: the operating system's words, if any."""

    def __init__(self, path, reason: str, detail: str | None = None):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.detail = Path(path), reason, detail


class NonFiniteError(SigdenoiseError):
    """A model whose training or evaluation gave NaN or inf; the message names the model."""


class OptionsConflict(SettingsError):
    """Options that cannot go together; the message is one sentence that begins with the option
    ("--model loads a trained autoencoder; it cannot be combined with --fit")."""

    def __init__(self, option: str, message: str):
        SigdenoiseError.__init__(self, f"{option} {message}")
        self.option = option


def require(ok: bool, option: str, message: str, error: type[SettingsError] = SettingsError) -> None:
    """Raise `error(option, message)` unless ok: every settings class validates with this."""
    if not ok:
        raise error(option, message)


def finite(x) -> bool:
    """Whether x is a finite real number (a bool is not): the settings' and model files' test."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def count(n: int, noun: str) -> str:
    """'1 window', '2,000 windows': a number and its regular noun, for messages."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"
