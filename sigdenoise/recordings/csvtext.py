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
# A header naming a time axis: t, t [s], t_ms, time, Time [s], time_s, timestamp, seconds, date …;
# not t_1 or T (°C) (a sensor or a temperature), whose suffix is no unit of time.
_UNIT = r"(s|ms|us|µs|ns|sec|secs|seconds?|min|mins|minutes?|h|hours?|days?)"
TIME_NAME = re.compile(rf"(t|time)([\s_\-]*[\[(]?{_UNIT}[\])]?)?|time([\s_\-\[(].*)?|timestamps?|datetime|date|"
                       rf"seconds?|secs?", re.IGNORECASE)  # fmt: skip
_DECIMAL_COMMA = re.compile(r"(?<![\d.,])-?\d+,\d+(?![\d.,])")
_ONE_COMMA_NUMBER = re.compile(r"-?\d+,\d+([eE][-+]?\d+)?")
_NUMBER = re.compile(r"[-+]?(\d+[.,]?\d*|[.,]\d+)([eE][-+]?\d+)?")


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


def detect(lines: list[str], delimiter: str | None = None, decimal: str | None = None) -> Dialect:
    """The dialect of a file from its first non-blank lines: a comma unless the first line has a
    semicolon or a tab and no comma outside numbers like 1,5; decimal commas when the delimiter is
    not a comma and the numbers are written 1,5."""
    first = lines[0] if lines else ""
    if delimiter is None and decimal == ",":  # a decimal comma given: the cells are not comma-separated
        delimiter = next((d for d in (";", "\t") if d in first), ";")
    if delimiter is None:
        bare = _DECIMAL_COMMA.sub("", first)
        delimiter = next((d for d in (";", "\t") if d in first and "," not in bare), ",")
        if delimiter == "," and "," not in first and "\t" in first:
            delimiter = "\t"
        # One column of numbers with decimal commas under a one-word header (voltage_V / 0,0377):
        # not two columns, which the header would name.
        data = lines[1:6]
        if delimiter == "," and data and not any(c in first for c in ",;\t") and not _NUMBER.fullmatch(first.strip()) \
                and all(_ONE_COMMA_NUMBER.fullmatch(t.strip()) for t in data):  # fmt: skip
            delimiter, decimal = ";", ","
    if decimal is None:
        # The mark most of the numbers use (an id such as 'probe 1,0' does not decide it).
        commas = sum(len(_DECIMAL_COMMA.findall(t)) for t in lines[:6])
        points = sum(len(re.findall(r"\d\.\d", t)) for t in lines[:6])
        decimal = "," if delimiter != "," and commas > points else "."
    return Dialect(delimiter, decimal)


def is_time_name(name: str) -> bool:
    """Whether a header cell names a time axis (kept as it is, never denoised)."""
    return bool(TIME_NAME.fullmatch(name.strip().strip('"')))
