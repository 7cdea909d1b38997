"""The text of a CSV file: its dialect (delimiter, decimal mark), its cells, and which of its
columns is time. read.py parses with these and write.py writes the same dialect back.

Spreadsheets in much of Europe save `1,5;2,25` (a semicolon between cells, a comma for the
decimal point); instruments save tab-separated text; exports of a recording have a time column
beside the values (`time_s,voltage_V`). The dialect is detected from the first lines unless given
(`--delimiter`, `--decimal`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", " ": " ", "space": " "}
# A header naming a time axis: t, time, Time [s], time_s, timestamp, seconds, date, datetime …
TIME_NAME = re.compile(r"(t|times?|timestamps?|datetime|date|seconds?|secs?|ms)([\s_\-\[(].*)?", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"(?<![\d.,])-?\d+,\d+(?![\d.,])")


@dataclass(frozen=True)
class Dialect:
    """How a CSV file's cells are separated and its numbers written."""

    delimiter: str = ","
    decimal: str = "."

    def cells(self, text: str) -> list[str]:
        """One line's cells (quoted cells as the csv module reads them)."""
        return next(csv.reader([text], delimiter=self.delimiter)) if '"' in text else text.split(self.delimiter)

    def number_text(self, cell: str) -> str:
        """A cell's text as Python's float() reads it (a decimal comma made a point)."""
        return cell.replace(",", ".") if self.decimal == "," else cell

    def numbers_line(self, text: str) -> str:
        """A whole line with decimal commas made points (its delimiter is then not a comma)."""
        return text.replace(",", ".") if self.decimal == "," else text

    def quote(self, text: str) -> str:
        """A cell as this dialect writes it: quoted only when it must be."""
        must = (self.delimiter, '"', "\r", "\n")
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in must) else text

    def write_numbers(self, texts: str) -> str:
        """Numbers formatted with a point, as this dialect writes them."""
        return texts.replace(".", ",") if self.decimal == "," else texts


def dialect_option(value: str | None, option: str = "--delimiter") -> str | None:
    """A --delimiter value (',', ';', 'tab', …) as the character; None stays None (detect)."""
    from sigdenoise.errors import SettingsError

    if value is None:
        return None
    if value not in DELIMITERS:
        raise SettingsError(option, f"must be one of ',', ';', 'tab' or 'space', got {value!r}")
    return DELIMITERS[value]


def detect(lines: list[str], delimiter: str | None = None, decimal: str | None = None) -> Dialect:
    """The dialect of a file from its first non-blank lines: a comma unless the first line has a
    semicolon or a tab and no comma outside numbers like 1,5; decimal commas when the delimiter is
    not a comma and the numbers are written 1,5."""
    first = lines[0] if lines else ""
    if delimiter is None:
        bare = _DECIMAL_COMMA.sub("", first)
        delimiter = next((d for d in (";", "\t") if d in first and "," not in bare), ",")
        if delimiter == "," and "," not in first and "\t" in first:
            delimiter = "\t"
    if decimal is None:
        decimal = "," if delimiter != "," and any(_DECIMAL_COMMA.search(t) for t in lines[:5]) else "."
    return Dialect(delimiter, decimal)


def is_time_name(name: str) -> bool:
    """Whether a header cell names a time axis (kept as it is, never denoised)."""
    return bool(TIME_NAME.fullmatch(name.strip().strip('"')))
