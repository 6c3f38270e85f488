"""Reading the CSV file: its encoding, delimiter and header (``layout_detect``) and its
data rows, numbered as a spreadsheet numbers them (``rows_read``)."""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError

_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 256 * 1024


@dataclass(frozen=True)
class CsvLayout:
    """How a file is written: found by ``layout_detect``, the same every time it is asked."""

    encoding: str
    delimiter: str
    headers: list[str]
    # The row of the header: 1, or 2 after Excel's "sep=;" line.
    header_row: int
    # Data rows, counted from the line breaks (a cell with a line break makes it high).
    rows_estimate: int
    size: int

    @property
    def delimiter_label(self) -> str:
        return {"\t": _("tab"), ",": _("comma"), ";": _("semicolon"), "|": _("vertical bar")}[
            self.delimiter
        ]


def _not_csv() -> ApplicationError:
    return ApplicationError(
        _(
            "This is not a CSV file. In Excel or Google Sheets, save or download the sheet "
            "as “CSV UTF-8” and upload that."
        ),
        field="file",
    )


def _encoding_detect(handle: IO[bytes]) -> tuple[str, int, bytes]:
    """The text encoding, the number of line breaks and the first bytes of the file.

    UTF-8 (with or without a byte-order mark) if the whole file decodes as UTF-8; UTF-16
    with a byte-order mark (Excel's "Unicode text"); otherwise a single-byte Windows code
    page: 1251 (Cyrillic, Russian Excel) when most letters in the high half are Cyrillic,
    else 1252 (Western European).
    """
    head = handle.read(_SAMPLE_BYTES)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ApplicationError(
            _("This is an Excel workbook. Save it as “CSV UTF-8” in Excel and upload that."),
            field="file",
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        decoder = codecs.getincrementaldecoder("utf-16")()
        lines, chunk = 0, head
        try:
            while chunk:
                lines += decoder.decode(chunk).count("\n")
                chunk = handle.read(1 << 20)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _not_csv() from exc
        return "utf-16", lines, head
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, lines, chunk = True, 0, head
    while chunk:
        if b"\x00" in chunk:
            raise _not_csv()
        lines += chunk.count(b"\n")
        if is_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                is_utf8 = False
        chunk = handle.read(1 << 20)
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if is_utf8:
        return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), lines, head
    high = [byte for byte in head if byte >= 0xC0]
    # In cp1251 the bytes 0xC0-0xFF are all Cyrillic letters; in cp1252 they are accented
    # Latin letters, which are a minority in any Western text.
    ascii_letters = sum(1 for byte in head if 0x41 <= byte <= 0x7A)
    cyrillic = len(high) > 0.3 * max(1, ascii_letters)
    return ("cp1251" if cyrillic else "cp1252"), lines, head


def _delimiter_detect(lines: list[str]) -> str:
    """The candidate that splits the first lines into the most rows as wide as the header."""
    best, best_score = ",", (-1, 0)
    for delimiter in _DELIMITERS:
        rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
        if not rows:
            continue
        width = len(rows[0])
        score = (sum(1 for row in rows if len(row) == width) if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _headers_unique(raw: list[str]) -> list[str]:
    """Headers as keys: blanks get a name, repeats get a number."""
    headers: list[str] = []
    for position, header in enumerate(raw, start=1):
        name = header.strip().lstrip("\ufeff") or _("Column %(number)s") % {"number": position}
        candidate, count = name, 1
        while candidate in headers:
            count += 1
            candidate = f"{name} ({count})"
        headers.append(candidate)
    return headers


def layout_detect(handle: IO[bytes]) -> CsvLayout:
    """Encoding, delimiter and header of a CSV file; ApplicationError if it is not one."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    if size == 0:
        raise ApplicationError(_("The file is empty."), field="file")
    encoding, line_breaks, head = _encoding_detect(handle)
    handle.seek(0)
    text = head.decode(encoding, errors="replace")
    lines = text.splitlines()
    if len(head) == _SAMPLE_BYTES and lines:
        lines = lines[:-1]  # the sample may end inside a line
    header_row = 1
    delimiter = ""
    first = lines[0].strip().lstrip("\ufeff") if lines else ""
    if first.lower().startswith("sep=") and len(first) == 5:
        delimiter = first[4]
        lines = lines[1:]
        header_row = 2
    if delimiter not in _DELIMITERS:
        delimiter = _delimiter_detect(lines[:50])
    rows = csv.reader(lines[:1], delimiter=delimiter)
    raw_headers = next(rows, [])
    if not any(header.strip() for header in raw_headers):
        raise ApplicationError(
            _("The first row must name the columns (Email, First Name, …)."), field="file"
        )
    headers = _headers_unique(raw_headers)
    # The last line may or may not end with a line break.
    ends_with_break = head.endswith(b"\n") if size <= _SAMPLE_BYTES else True
    rows_estimate = max(0, line_breaks + (0 if ends_with_break else 1) - header_row)
    return CsvLayout(
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        header_row=header_row,
        rows_estimate=rows_estimate,
        size=size,
    )


class FileUnreadableError(ApplicationError):
    """The file broke off in the middle (a bad byte, an unclosed quote)."""


def rows_read(handle: IO[bytes], layout: CsvLayout) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` for every non-blank data row, in file order."""
    text = io.TextIOWrapper(handle, encoding=layout.encoding, newline="")
    reader = csv.reader(text, delimiter=layout.delimiter)
    row_no = 0
    try:
        for row_no, row in enumerate(reader, start=1):
            if row_no <= layout.header_row:
                continue
            # Spreadsheets export empty rows as ",,,": they count, but hold nothing.
            if not row or not any(row):
                continue
            yield row_no, row
    except (csv.Error, UnicodeDecodeError) as exc:
        raise FileUnreadableError(
            _("The file cannot be read after row %(row)s (%(problem)s). Nothing was imported.")
            % {"row": row_no, "problem": exc}
        ) from exc
    finally:
        text.detach()
