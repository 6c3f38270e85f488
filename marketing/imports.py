"""CSV import of leads: reading the file, mapping its columns, and the set-wise job.

The flow is upload (``import_create``) → mapping and preview (``import_preview``) → start
(``import_start``) → the Celery job (``import_run``) → a result with a report of the rows
that were not imported (``ImportJob.errors_file``).

The job reads the file once, in Python, because that is where per-row work is cheap: the
csv module (C) splits the rows, ``RowCleaner`` checks and normalises them (email, phone to
E.164, company size, country) and drops repeats within the file. Batches of 50,000 good
rows are copied (``COPY``) into a temporary staging table, and each batch is then written
as a set: suppressed addresses and external-id conflicts leave the stage, leads known
only by phone or external id are claimed, and one ``INSERT … SELECT … ON CONFLICT
(email)`` writes the leads with their touchpoints and "created" events. A reading thread
prepares the next batch while Postgres writes the current one, so the two cores work
together. All batches are one transaction: a crash or an error leaves nothing behind. The
job's progress goes through a second connection, so the page sees it meanwhile.

Rows are numbered as a spreadsheet numbers them: the header is row 1 (row 2 if the file
starts with Excel's ``sep=;`` line); blank rows count but are skipped silently.

Decisions where the issue was silent:

* The same email twice in one file: the first row is imported, later ones are reported
  ("same email as row N") and not merged. The same goes for a repeated external id.
* Counters: ``created`` + ``updated`` + ``skipped`` + ``error`` = rows. ``skipped`` are
  people who already exist when the mode is "skip" (nothing about them changes, not even
  a touchpoint); ``error`` are the rows in the report: invalid, duplicates within the
  file, suppressed addresses and external-id conflicts.
* "Update" fills only the fields that are empty on the existing lead, adds an "import"
  touchpoint and makes the lead due for re-scoring; it never overwrites data.
* Scoring is left to the beat sweeper (``scored_at`` is NULL on every lead the import
  touched): a million score tasks from one import would starve the form captures.
* A job whose worker died stays "running" with nothing written; its page offers to run it
  again (the advisory lock tells a dead job from a live one).
"""

from __future__ import annotations

import codecs
import csv
import functools
import heapq
import io
import logging
import operator
import os
import queue
import re
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    SUPPORTED_REGIONS,
    region_code_for_country_code,
)

from leadflow import bus, csv_export
from leadflow.errors import ApplicationError, ConflictError
from leadflow.models import User
from leadflow.services import enqueue_on_commit
from marketing.models import Campaign, ImportJob, Lead, Suppression
from marketing.selectors import email_hash
from marketing.services import normalize_phone

logger = logging.getLogger(__name__)

LEAD = "marketing.lead"
# Rows per batch: big enough to be set-wise, small enough that the page's progress bar
# moves every second or two and the reader works on the next batch meanwhile.
BATCH_ROWS = 50_000
PREVIEW_ROWS = 10
# The first key of the advisory lock a running job holds (the second is the job's id).
_LOCK_NAMESPACE = zlib.crc32(b"marketing.import") & 0x7FFFFFFF

# --- What a column can become -----------------------------------------------------------

# The lead fields a CSV column can be mapped to, in the order the preview shows them.
IMPORT_FIELDS: dict[str, Any] = {
    "email": gettext_lazy("Email"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "full_name": gettext_lazy("Full name (first name first)"),
    "full_name_reversed": gettext_lazy("Full name, last name first (ФИО)"),
    "company": gettext_lazy("Company"),
    "job_title": gettext_lazy("Job title"),
    "company_size": gettext_lazy("Company size"),
    "country": gettext_lazy("Country"),
    "phone": gettext_lazy("Phone"),
    "external_id": gettext_lazy("External ID"),
    "source": gettext_lazy("Lead source"),
}
_TEXT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "job_title": 200,
    "external_id": 100,
    "source": 100,
}
MAX_EMAIL_LENGTH = 254
MAX_COMPANY_SIZE = 10_000_000


def _spellings(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|"))


# Header spellings of the exports people bring: Salesforce (lead and contact reports),
# HubSpot (contacts), and common English and Russian variants. Compared after
# ``header_key`` (case, spaces and punctuation folded). For each field the first spelling
# found wins, so "Phone" beats "Mobile" when a file has both.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": _spellings(
        "email | e mail | email address | e mail address | emailaddress | work email | "
        "business email | primary email | email 1 | эл почта | электронная почта | "
        "адрес электронной почты | e mail адрес | email адрес | почта | емейл | имейл"
    ),
    "first_name": _spellings("first name | firstname | first | given name | forename | имя"),
    "last_name": _spellings("last name | lastname | surname | family name | last | фамилия"),
    "full_name": _spellings(
        "full name | fullname | name | contact name | lead name | contact | имя и "
        "фамилия | полное имя | контактное лицо"
    ),
    "full_name_reversed": _spellings("фио | ф и о | фамилия имя отчество | фамилия имя"),  # noqa: RUF001
    "company": _spellings(
        "company | company name | account name | account | organization | organisation "
        "| organization name | компания | название компании | организация | "
        "наименование организации | название организации"
    ),
    "job_title": _spellings(
        "title | job title | jobtitle | position | job position | role | job role | "
        "должность | позиция"
    ),
    "company_size": _spellings(
        "no of employees | number of employees | num employees | employees | employee "
        "count | company size | headcount | количество сотрудников | число сотрудников "
        "| кол во сотрудников | численность сотрудников | численность персонала | "
        "размер компании"
    ),
    "country": _spellings("country | country region | mailing country | country name | страна"),
    "phone": _spellings(
        "phone | phone number | business phone | work phone | telephone | tel | mobile "
        "| mobile phone | mobile phone number | cell phone | телефон | номер телефона | "
        "тел | рабочий телефон | мобильный телефон | мобильный"
    ),
    "external_id": _spellings(
        "lead id | record id | contact id | id | external id | salesforce id | hubspot "
        "id | внешний id | внешний идентификатор"
    ),
    "source": _spellings("lead source | original source | source | источник | источник лида"),
}

_HEADER_PUNCTUATION = re.compile(r"[\s_\-./()#:*'\"]+")


def header_key(header: str) -> str:
    """A header folded for comparison: "E-Mail Address" → "e mail address"."""
    # Cyrillic yo is written as ye as often as not.
    folded = _HEADER_PUNCTUATION.sub(" ", header.casefold().replace("\u0451", "\u0435"))
    return folded.strip()


_SYNONYM_FIELD = {
    header_key(spelling): name
    for name, spellings in HEADER_SYNONYMS.items()
    for spelling in spellings
}


def mapping_detect(headers: list[str]) -> dict[str, str]:
    """``{header: lead field or ""}`` for every header, recognising the known spellings.

    Each field is taken by one column at most. A full-name column is used only when the
    file has no first- and last-name columns of its own.
    """
    keys = [header_key(header) for header in headers]
    mapping = dict.fromkeys(headers, "")
    for name, spellings in HEADER_SYNONYMS.items():
        for spelling in spellings:
            wanted = header_key(spelling)
            found = next(
                (
                    h
                    for h, key in zip(headers, keys, strict=True)
                    if key == wanted and not mapping[h]
                ),
                None,
            )
            if found is not None:
                mapping[found] = name
                break
    taken = set(mapping.values())
    if {"first_name", "last_name"} <= taken:
        for header, name in mapping.items():
            if name in ("full_name", "full_name_reversed"):
                mapping[header] = ""
    return mapping


def mapping_clean(headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """The mapping a person chose, checked: known fields, each at most once, email mapped."""
    cleaned = dict.fromkeys(headers, "")
    used: dict[str, str] = {}
    for header, name in mapping.items():
        if header not in cleaned:
            continue
        if name and name not in IMPORT_FIELDS:
            raise ApplicationError(_("“%(name)s” is not a lead field.") % {"name": name})
        if name and name in used:
            raise ApplicationError(
                _("“%(field)s” is chosen for two columns: “%(first)s” and “%(second)s”.")
                % {"field": IMPORT_FIELDS[name], "first": used[name], "second": header},
                field="mapping",
            )
        if name:
            used[name] = header
        cleaned[header] = name
    if {"full_name", "full_name_reversed"} <= used.keys():
        raise ApplicationError(_("Choose one full-name column."), field="mapping")
    if "email" not in used:
        raise ApplicationError(
            _("Choose the column that holds the email address: it identifies each person."),
            field="mapping",
        )
    return cleaned


# --- Reading the file --------------------------------------------------------------------

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


# --- Cleaning one row ----------------------------------------------------------------------

_EMAIL = re.compile(
    r"[^\s@\"(),:;<>\[\\\]]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_](?:[\w-]*[^\W_])?"
)
_SIZE = re.compile(
    r"(\d{1,3}(?:[ ,.'\u00a0\u202f]\d{3})+|\d+)(?:[.,]0+)?"
    r"\s*(?:(?:-|\u2013|\u2014|to|до)\s*(?:\d[\d ,.'\u00a0\u202f]*)|\+)?"
    r"(?:\s*(?:employees|people|staff|сотрудник\w*|человек|чел\.?))?"
)
_PHONE_INTERNATIONAL = re.compile(r"\s*\+[\d\s().\-]*")
_PHONE_NATIONAL = re.compile(r"[\d\s().\-]*")
_NOT_DIGIT = re.compile(r"\D")

# Staged row: (email, external_id, phone, first_name, last_name, company, job_title,
# company_size, country, source); the row number goes first when it is written.
StagedRow = tuple[str, str | None, str, str, str, str, str, int | None, str, str]

# Names and codes people write that the locale table does not have, by ISO code.
_COUNTRY_ALIASES = {
    "GB": _spellings(
        "uk | england | scotland | wales | great britain | britain | gbr | великобритания | англия"
    ),
    "US": _spellings(
        "usa | us | u s | u s a | united states of america | america | сша | "
        "соединенные штаты америки | америка"
    ),
    "NL": _spellings("holland | the netherlands | nld | голландия"),
    "KR": _spellings("korea | south korea | южная корея"),
    "CZ": _spellings("czech republic | czechia | чехия"),
    "AE": _spellings("uae | оаэ"),
    "TR": _spellings("turkiye | türkiye"),
    "RU": _spellings("russian federation | rus | рф | россия | российская федерация"),
    "DE": _spellings("deu"),
    "FR": _spellings("fra"),
    "ES": _spellings("esp"),
    "IT": _spellings("ita"),
    "PL": _spellings("pol"),
    "SE": _spellings("swe"),
    "CH": _spellings("che"),
    "AT": _spellings("aut"),
    "CA": _spellings("can"),
    "AU": _spellings("aus"),
    "IN": _spellings("ind"),
    "CN": _spellings("chn"),
    "JP": _spellings("jpn"),
    "BR": _spellings("bra"),
    "UA": _spellings("ukr"),
    "KZ": _spellings("kaz"),
    "BY": _spellings("blr | белоруссия | беларусь"),
}


@functools.cache
def _country_names() -> dict[str, str]:
    """Country names in English, Russian, German, French and Spanish, and the ISO codes,
    folded like headers → ISO 3166 code. Built from phonenumbers' locale table."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    table: dict[str, str] = {}
    for region, names in LOCALE_DATA.items():
        if region not in SUPPORTED_REGIONS:
            continue
        for language in ("en", "ru", "de", "fr", "es"):
            name = names.get(language, "")
            while name.startswith("*"):
                name = names.get(name[1:], "")
            if name:
                table.setdefault(header_key(name), region)
    for region, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases:
            table[header_key(alias)] = region
    for region in SUPPORTED_REGIONS:
        table[region.lower()] = region
    return table


@dataclass(frozen=True)
class _PhonePlan:
    """What the fast path needs to know about a region (see ``_phone_fast``)."""

    country_code: int
    # The region's own rules, which phonenumbers parses a number by.
    national_prefix: re.Pattern[str] | None
    international_prefix: re.Pattern[str] | None
    national_pattern: re.Pattern[str]
    parse_lengths: frozenset[int]
    parse_local_lengths: frozenset[int]
    # A prefix that is rewritten rather than removed (a few regions): left to phonenumbers.
    transforms: bool
    # National lengths is_possible_number accepts, by the calling code's main region.
    lengths: frozenset[int]


@functools.cache
def _phone_plan_for_code(country_code: int) -> _PhonePlan | None:
    region = region_code_for_country_code(country_code)
    if region not in SUPPORTED_REGIONS:
        return None  # non-geographic numbers (+800 …) take the slow path
    return _phone_plan(region)


@functools.cache
def _phone_plan(region: str) -> _PhonePlan | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None or metadata.general_desc is None:
        return None
    main = PhoneMetadata.metadata_for_region_or_calling_code(
        metadata.country_code, region_code_for_country_code(metadata.country_code)
    )
    if main is None or main.general_desc is None:
        return None
    general = metadata.general_desc
    return _PhonePlan(
        country_code=metadata.country_code,
        national_prefix=(
            re.compile(metadata.national_prefix_for_parsing)
            if metadata.national_prefix_for_parsing
            else None
        ),
        international_prefix=(
            re.compile(metadata.international_prefix) if metadata.international_prefix else None
        ),
        national_pattern=re.compile(general.national_number_pattern or ""),
        parse_lengths=frozenset(n for n in general.possible_length or () if n > 0),
        parse_local_lengths=frozenset(general.possible_length_local_only or ()),
        transforms=bool(metadata.national_prefix_transform_rule),
        lengths=frozenset(
            {n for n in main.general_desc.possible_length or () if n > 0}
            | set(main.general_desc.possible_length_local_only or ())
        ),
    )


def _phone_fast(raw: str, region: str) -> str | None:
    """E.164 for the plain, common spellings, exactly as ``normalize_phone`` would give it,
    or None to let phonenumbers decide (it takes ~70 µs a number; this ~3 µs).

    Taken: "+<digits>" and, with a known region, national digits, both with spaces,
    dashes, dots and brackets. The steps are phonenumbers' own for such input: the calling
    code, the national (trunk) prefix removed when the number stays viable without it,
    the possible lengths. Anything unusual (an international dialling prefix, a carrier
    code, non-geographic numbers) and every failure go to phonenumbers, so this can only
    agree with it: ``tests/marketing/test_import.py`` compares the two on example and
    random numbers of every region.
    """
    if _PHONE_INTERNATIONAL.fullmatch(raw):
        digits = _NOT_DIGIT.sub("", raw)
        if len(digits) < 3 or digits[0] == "0":
            return None
        for width in (1, 2, 3):
            code = int(digits[:width])
            if code in COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        plan = _phone_plan_for_code(code)
        national = digits[width:]
    elif region and _PHONE_NATIONAL.fullmatch(raw):
        plan = _phone_plan(region)
        if plan is None:
            return None
        national = _NOT_DIGIT.sub("", raw)
        if (
            plan.international_prefix is not None and plan.international_prefix.match(national)
        ) or national.startswith(str(plan.country_code)):
            return None
        code = plan.country_code
    else:
        return None
    if plan is None or len(national) < 2:
        return None
    prefix = plan.national_prefix.match(national) if plan.national_prefix else None
    if prefix is not None:
        if plan.transforms:
            return None
        stripped = national[prefix.end() :]
        keeps_viability = plan.national_pattern.fullmatch(
            national
        ) is None or plan.national_pattern.fullmatch(stripped)
        size = len(stripped)
        if (
            stripped
            and keeps_viability
            and size not in plan.parse_local_lengths
            and (size in plan.parse_lengths or size > max(plan.parse_lengths, default=0))
        ):
            national = stripped
    if not 2 <= len(national) <= 17 or len(national) not in plan.lengths:
        return None
    return f"+{code}{national}"


# The lead fields of a staged row, in the staging table's column order.
_STAGED_FIELDS = (
    "email",
    "external_id",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "country",
    "source",
)


class RowCleaner:
    """Checks and normalises rows for one mapping; ``clean`` takes the cells of one row.

    The job calls it a million times: the mapped cells are picked in one C call, the
    checks are written out rather than looped over, and the answers for values that repeat
    (countries, company sizes, phones) are remembered.
    """

    # The order of the staged row, then the full name.
    _ORDER = _STAGED_FIELDS

    def __init__(self, headers: list[str], mapping: dict[str, str]) -> None:
        position = {name: headers.index(header) for header, name in mapping.items() if name}
        self.width = width = len(headers)
        full_name = position.get("full_name", position.get("full_name_reversed"))
        # Unmapped fields read an empty cell added after the last column.
        self._pick = operator.itemgetter(
            *(position.get(name, width) for name in self._ORDER),
            width if full_name is None else full_name,
        )
        self._padding = [[""] * (width + 1 - n) for n in range(width + 1)]
        self.full_name_reversed = "full_name_reversed" in position
        self._countries: dict[str, str | None] = {"": ""}
        self._sizes: dict[str, int | None] = {"": None}
        self._phones: dict[tuple[str, str], str | None] = {}
        self._labels = {name: str(label) for name, label in IMPORT_FIELDS.items()}

    # Each helper returns the clean value, or raises ValueError with the reason.

    def country(self, raw: str) -> str:
        found = self._countries.get(raw, "?")
        if found == "?":
            found = _country_names().get(header_key(raw)) if raw.strip() else ""
            self._countries[raw] = found
        if found is None:
            raise ValueError(
                _("Unknown country “%(value)s”: use a two-letter code such as DE.")
                % {"value": _short(raw)}
            )
        return found

    def company_size(self, raw: str) -> int | None:
        if raw in self._sizes:
            size = self._sizes[raw]
        else:
            size = _company_size(raw)
            if len(self._sizes) < 10_000:
                self._sizes[raw] = size
        if size == -1:
            raise ValueError(
                _("“%(value)s” is not a number of employees.") % {"value": _short(raw)}
            )
        return size

    def phone(self, raw: str, region: str) -> str:
        key = (raw, region)
        if key in self._phones:
            found = self._phones[key]
        else:
            text = raw.strip().lstrip("'")  # the error report's formula guard, on re-import
            found = _phone_fast(text, region)
            if found is None:
                try:
                    found = normalize_phone(text, country=region)
                except ApplicationError:
                    found = None
                if found is not None and len(found) > 20:
                    found = None
            if len(self._phones) > 100_000:
                self._phones.clear()
            self._phones[key] = found
        if found is None:
            if not raw.strip().startswith("+") and not region:
                raise ValueError(
                    _(
                        "“%(value)s” is not a phone number we can place: write it with the "
                        "country code (+49 …) or map a Country column."
                    )
                    % {"value": _short(raw)}
                )
            raise ValueError(_("“%(value)s” is not a valid phone number.") % {"value": _short(raw)})
        return found

    def clean(self, cells: list[str]) -> tuple[StagedRow | None, list[str]]:
        """The staged row, or None and the reasons the row cannot be imported."""
        problems: list[str] = []
        width = len(cells)
        if width <= self.width:
            padded = cells + self._padding[width]
        else:
            padded = [*cells[: self.width], ""]
            if any(cell.strip() for cell in cells[self.width :]):
                problems.append(_("The row has more cells than the header has columns."))
        (
            raw_email,
            external_id,
            raw_phone,
            first_name,
            last_name,
            company,
            job_title,
            raw_size,
            raw_country,
            source,
            full_name,
        ) = self._pick(padded)

        email = raw_email.strip().lower()
        if not email:
            problems.append(_("Email is missing."))
        elif len(email) > MAX_EMAIL_LENGTH or _EMAIL.fullmatch(email) is None:
            problems.append(
                _("“%(value)s” is not a valid email address.") % {"value": _short(raw_email)}
            )
        first_name, last_name = first_name.strip(), last_name.strip()
        company, job_title = company.strip(), job_title.strip()
        external_id, source = external_id.strip(), source.strip()
        if (
            "\n" in first_name
            or "\n" in last_name
            or "\n" in company
            or "\n" in job_title
            or "\n" in external_id
        ):
            # Names never hold line breaks; an open quote makes a cell take the next rows.
            problems.append(_("A cell holds a line break: a quote may be left open in the file."))
        elif (
            len(first_name) > 100
            or len(last_name) > 100
            or len(company) > 200
            or len(job_title) > 200
            or len(external_id) > 100
            or len(source) > 100
        ):
            problems.extend(
                self._too_long(
                    first_name=first_name,
                    last_name=last_name,
                    company=company,
                    job_title=job_title,
                    external_id=external_id,
                    source=source,
                )
            )
        if full_name and (not first_name or not last_name):
            first, last = self._name_split(full_name)
            first_name = first_name or first
            last_name = last_name or last

        size = None
        if raw_size:
            try:
                size = self.company_size(raw_size)
            except ValueError as exc:
                problems.append(str(exc))
        country = ""
        if raw_country:
            try:
                country = self.country(raw_country)
            except ValueError as exc:
                problems.append(str(exc))
        phone = ""
        if raw_phone and not raw_phone.isspace():
            try:
                phone = self.phone(raw_phone, country)
            except ValueError as exc:
                problems.append(str(exc))

        if problems:
            return None, problems
        return (
            email,
            external_id or None,
            phone,
            first_name,
            last_name,
            company,
            job_title,
            size,
            country,
            source,
        ), problems

    def _too_long(self, **values: str) -> list[str]:
        return [
            _("%(field)s is longer than %(max)s characters.")
            % {"field": self._labels[name], "max": _TEXT_LIMITS[name]}
            for name, value in values.items()
            if len(value) > _TEXT_LIMITS[name]
        ]

    def _name_split(self, full_name: str) -> tuple[str, str]:
        """(first, last) from one cell: "Anna Maria Smith", or "Иванов Иван Иванович"."""
        parts = full_name.split()
        if not parts:
            return "", ""
        if self.full_name_reversed:
            first, last = " ".join(parts[1:]), parts[0]
        elif len(parts) == 1:
            first, last = parts[0], ""
        else:
            first, last = " ".join(parts[:-1]), parts[-1]
        return first[:100], last[:100]


def _company_size(raw: str) -> int | None:
    """Employees from "250", "1,200", "1 200", "51-200" (the lower end), "10,001+";
    None for an empty cell, -1 for anything else."""
    text = raw.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        size = int(text)
    else:
        match = _SIZE.fullmatch(text.lower())
        if match is None:
            return -1
        size = int(_NOT_DIGIT.sub("", match.group(1)))
    return size if 1 <= size <= MAX_COMPANY_SIZE else -1


def _short(value: str, limit: int = 60) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- The error report ------------------------------------------------------------------------


class _Rejects:
    """The rows that were not imported, collected while the job finds them.

    The reading pass finds most of them, in file order, with their cells; the SQL pass
    finds a few more (suppressed addresses, external-id conflicts) by row number only. The
    report reads the file once more for those, and merges the two lists by row number.
    """

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.found = 0
        self.later: dict[int, str] = {}

    @property
    def count(self) -> int:
        return self.found + len(self.later)

    def add(self, row_no: int, reasons: list[str], cells: list[str]) -> None:
        self.writer.writerow([row_no, " ".join(reasons), *cells])
        self.found += 1

    def add_later(self, row_no: int, reason: str) -> None:
        self.later[row_no] = reason

    def write_report(self, target: IO[str], *, job: ImportJob, layout: CsvLayout) -> None:
        self.file.flush()
        self.file.seek(0)
        streams: list[Iterator[tuple[int, str, list[str]]]] = [
            ((int(row[0]), row[1], row[2:]) for row in csv.reader(self.file))
        ]
        if self.later:
            streams.append(self._later_rows(job, layout))
        writer = csv_export.writer(target, delimiter=layout.delimiter)
        writer.writerow([_("Row"), _("Reason"), *layout.headers])
        for row_no, reason, cells in heapq.merge(*streams, key=lambda item: item[0]):
            writer.writerow([row_no, reason, *cells])

    def _later_rows(
        self, job: ImportJob, layout: CsvLayout
    ) -> Iterator[tuple[int, str, list[str]]]:
        with job.file.open("rb") as handle:
            for row_no, cells in rows_read(handle, layout):
                reason = self.later.get(row_no)
                if reason is not None:
                    yield row_no, reason, cells

    def close(self) -> None:
        self.file.close()


# --- Progress, seen from outside the job's transaction ---------------------------------------


class _Progress:
    """Writes the job's counters through a connection of its own, in autocommit, so the
    progress page sees them while the import's transaction is still open."""

    def __init__(self, job_id: int, *, every: float = 0.5) -> None:
        self.job_id = job_id
        self.every = every
        self.last = 0.0
        self.conn = connections.create_connection(DEFAULT_DB_ALIAS)

    def set(self, *, force: bool = False, **values: object) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        # Column names come from this module, never from input.
        assignments = ", ".join(f"{name} = %s" for name in values)
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE marketing_importjob SET {assignments} WHERE id = %s",  # noqa: S608
                [*values.values(), self.job_id],  # type: ignore[list-item]
            )

    def close(self) -> None:
        self.conn.close()


# --- Selectors ---------------------------------------------------------------------------------


def import_list(*, limit: int = 50) -> QuerySet[ImportJob]:
    """The most recent imports, newest first."""
    return ImportJob.objects.select_related("created_by", "campaign").order_by(
        "-created_at", "-id"
    )[:limit]


def import_get(*, job_id: int) -> ImportJob | None:
    return ImportJob.objects.select_related("created_by", "campaign").filter(pk=job_id).first()


def import_layout(*, job: ImportJob) -> CsvLayout:
    try:
        with job.file.open("rb") as handle:
            return layout_detect(handle)
    except OSError as exc:
        raise ApplicationError(
            _("The uploaded file of this import is gone; upload it again.")
        ) from exc


@dataclass
class PreviewRow:
    row_no: int
    values: list[object]  # in the order of ``Preview.fields``
    problems: list[str]
    # "new", "exists" (a lead has the address), "duplicate" (an earlier row has it),
    # "suppressed" or "invalid".
    state: str
    email: str = ""


@dataclass
class Preview:
    layout: CsvLayout
    mapping: dict[str, str]
    fields: list[str]  # the lead fields the preview shows, in order
    rows: list[PreviewRow] = field(default_factory=list)
    # The first non-empty cell of each column among the previewed rows, by header.
    samples: list[str] = field(default_factory=list)
    mapping_error: str = ""

    @property
    def labels(self) -> list[str]:
        return [str(IMPORT_FIELDS[name]) for name in self.fields]

    @property
    def importable(self) -> int:
        return sum(1 for row in self.rows if row.state in ("new", "exists"))


def import_preview(*, job: ImportJob, mapping: dict[str, str] | None = None) -> Preview:
    """The first rows as they would be imported with ``mapping`` (default: the job's),
    each with what would become of it: new, existing, or why it would be rejected."""
    layout = import_layout(job=job)
    wanted = job.mapping if mapping is None else mapping
    wanted = {header: wanted.get(header) or "" for header in layout.headers}
    shown = set(wanted.values())
    if shown & {"full_name", "full_name_reversed"}:
        shown |= {"first_name", "last_name"}
    fields = [name for name in _STAGED_FIELDS if name in shown]
    fields.sort(key=list(IMPORT_FIELDS).index)
    preview = Preview(layout=layout, mapping=wanted, fields=fields)
    cleaner: RowCleaner | None = None
    try:
        cleaner = RowCleaner(layout.headers, mapping_clean(layout.headers, wanted))
    except ApplicationError as exc:
        preview.mapping_error = exc.message
    samples = [""] * len(layout.headers)
    with job.file.open("rb") as handle:
        try:
            for row_no, cells in rows_read(handle, layout):
                for at, cell in enumerate(cells[: len(samples)]):
                    samples[at] = samples[at] or cell.strip()
                staged, problems = cleaner.clean(cells) if cleaner else (None, [])
                if staged is not None:
                    values = dict(zip(_STAGED_FIELDS, staged, strict=True))
                    row = PreviewRow(row_no, [values[name] for name in fields], [], "new")
                    row.email = str(values["email"])
                else:
                    raw: dict[str, object] = {}
                    for header, name in wanted.items():
                        at = layout.headers.index(header)
                        if name in ("full_name", "full_name_reversed"):
                            name = "first_name"
                        if name and at < len(cells):
                            raw.setdefault(name, cells[at])
                    row = PreviewRow(
                        row_no, [raw.get(name, "") for name in fields], problems, "invalid"
                    )
                preview.rows.append(row)
                if len(preview.rows) >= PREVIEW_ROWS:
                    break
        except FileUnreadableError as exc:
            preview.mapping_error = exc.message
    preview.samples = samples
    _preview_states(preview)
    return preview


def _preview_states(preview: Preview) -> None:
    """Mark rows whose address is known, repeated or suppressed (two queries)."""
    emails = [row.email for row in preview.rows if row.state == "new"]
    if not emails:
        return
    known = set(Lead.objects.filter(email__in=emails).values_list("email", flat=True))
    hashes = {email: email_hash(email) for email in emails}
    suppressed = set(
        Suppression.objects.filter(email_hash__in=hashes.values()).values_list(
            "email_hash", flat=True
        )
    )
    seen: dict[str, int] = {}
    for row in preview.rows:
        if row.state != "new":
            continue
        email = row.email
        if email in seen:
            row.state = "duplicate"
            row.problems = [_duplicate_reason(seen[email])]
        elif hashes[email] in suppressed:
            row.state = "suppressed"
            row.problems = [_suppressed_reason()]
        elif email in known:
            row.state = "exists"
        seen.setdefault(email, row.row_no)


def _duplicate_reason(row_no: int) -> str:
    return _("The same email is on row %(row)s; only the first row is imported.") % {"row": row_no}


def _suppressed_reason() -> str:
    return _("The address is on the suppression list (the person withdrew consent or opted out).")


def import_report_head(*, job: ImportJob, limit: int = 10) -> list[tuple[str, str]]:
    """(row number, reason) of the first rejected rows, for the result page."""
    if not job.errors_file:
        return []
    with job.errors_file.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        lines = [line for _, line in zip(range(limit + 1), text, strict=False)]
        text.detach()
    rows = list(csv.reader(lines, delimiter=_delimiter_detect(lines)))
    return [(row[0], row[1]) for row in rows[1:] if len(row) > 1]


def import_is_stalled(*, job: ImportJob) -> bool:
    """A "running" job whose worker is gone: no session holds its lock any more."""
    if job.status != ImportJob.Status.RUNNING:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = %s::oid AND objid = %s::oid AND objsubid = 2)",
            [_LOCK_NAMESPACE, job.pk],
        )
        return bool(cursor.fetchone()[0])


# --- Services ------------------------------------------------------------------------------------

_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def import_too_large_message() -> str:
    return _("The file is larger than %(max)s MB. Split it into smaller files.") % {
        "max": settings.LEADFLOW_MAX_IMPORT_BYTES // (1024 * 1024)
    }


def import_create(
    *,
    created_by: User,
    upload: UploadedFile,
    campaign: Campaign | None = None,
    mode: str = ImportJob.Mode.UPDATE,
) -> ImportJob:
    """Keep an uploaded CSV file and guess its column mapping; nothing is imported yet."""
    name = Path(upload.name or "import.csv").name
    if upload.size is not None and upload.size > settings.LEADFLOW_MAX_IMPORT_BYTES:
        raise ApplicationError(import_too_large_message(), field="file")
    if name.lower().endswith(_WORKBOOK_SUFFIXES):
        raise ApplicationError(
            _("This is a spreadsheet workbook. Save it as “CSV UTF-8” and upload that."),
            field="file",
        )
    if mode not in ImportJob.Mode.values:
        raise ApplicationError(_("Choose what to do with people who already exist."), field="mode")
    layout = layout_detect(upload.open("rb"))
    if layout.rows_estimate == 0:
        raise ApplicationError(_("The file has a header but no rows."), field="file")
    upload.seek(0)
    job = ImportJob(
        created_by=created_by,
        campaign=campaign,
        original_name=name[:255],
        mapping=mapping_detect(layout.headers),
        mode=mode,
        total_rows=layout.rows_estimate,
    )
    # A random name: the person's file name may say more than it should.
    job.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)
    job.save()
    return job


@transaction.atomic
def import_start(
    *,
    job_id: int,
    mapping: dict[str, str],
    mode: str,
    campaign: Campaign | None,
    language: str = "",
) -> ImportJob:
    """Fix the mapping and the options, and queue the job (once: a started job refuses)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status != ImportJob.Status.UPLOADED:
        raise ConflictError(_("This import has already been started."))
    if mode not in ImportJob.Mode.values:
        raise ApplicationError(_("Choose what to do with people who already exist."), field="mode")
    job.mapping = mapping_clean(import_layout(job=job).headers, mapping)
    job.mode = mode
    job.campaign = campaign
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "mode", "campaign", "status"])
    _enqueue(job.pk, language)
    return job


@transaction.atomic
def import_retry(*, job_id: int, language: str = "") -> ImportJob:
    """Queue a failed or interrupted job again; a queued one is sent to the workers again
    (harmless: a job runs once, see ``import_run``)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status == ImportJob.Status.RUNNING and not import_is_stalled(job=job):
        raise ConflictError(_("This import is running."))
    if job.status not in (
        ImportJob.Status.FAILED,
        ImportJob.Status.RUNNING,
        ImportJob.Status.QUEUED,
    ):
        raise ConflictError(_("Only a failed or interrupted import can be run again."))
    job.status = ImportJob.Status.QUEUED
    job.error_message = ""
    job.processed_rows = 0
    job.save(update_fields=["status", "error_message", "processed_rows"])
    _enqueue(job.pk, language)
    return job


def _enqueue(job_id: int, language: str) -> None:
    from marketing.tasks import run_import

    enqueue_on_commit(run_import, job_id, language)


@dataclass
class ImportOutcome:
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0


def import_run(*, job_id: int, skip_fk_checks: bool | None = None) -> ImportOutcome | None:
    """Run a queued import; None when there is nothing to do.

    Idempotent: the job is claimed with an advisory lock and a status check inside its
    own transaction, so a second delivery of the task does nothing (the job is running
    elsewhere, or done). A job left "running" by a dead worker is run again from the
    start: its transaction died with it. A job that fails is marked failed with a
    message for the person; nothing of it is kept.

    ``skip_fk_checks``: see ``_fk_checks_skippable``; None decides by privilege.
    """
    job = ImportJob.objects.select_related("campaign").filter(pk=job_id).first()
    if job is None:
        return None
    progress = _Progress(job_id)
    rejects = _Rejects()
    report_name = ""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, job_id]
                )
                if not cursor.fetchone()[0]:
                    return None  # another worker has it
            status = ImportJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
            if status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
                return None
            progress.set(
                force=True,
                status=ImportJob.Status.RUNNING,
                started_at=timezone.now(),
                finished_at=None,
                processed_rows=0,
                created_count=0,
                updated_count=0,
                skipped_count=0,
                error_count=0,
                error_message="",
            )
            layout = import_layout(job=job)
            outcome = _import_execute(job, layout, progress, rejects, skip_fk_checks=skip_fk_checks)
            if rejects.count:
                report_name = _report_save(job, layout, rejects)
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.DONE,
                total_rows=outcome.total,
                processed_rows=outcome.total,
                created_count=outcome.created,
                updated_count=outcome.updated,
                skipped_count=outcome.skipped,
                error_count=outcome.rejected,
                errors_file=report_name,
                error_message="",
                finished_at=timezone.now(),
            )
    except Exception as exc:
        _import_failed(job_id, exc, report_name)
        return None
    finally:
        rejects.close()
        progress.close()
    logger.info(
        "import %s done: %s rows, %s new, %s updated, %s skipped, %s rejected",
        job_id,
        outcome.total,
        outcome.created,
        outcome.updated,
        outcome.skipped,
        outcome.rejected,
    )
    return outcome


def _import_failed(job_id: int, exc: Exception, report_name: str) -> None:
    if report_name:
        default_storage.delete(report_name)
    if isinstance(exc, ApplicationError):
        message = exc.message
    elif isinstance(exc, SoftTimeLimitExceeded):
        message = _(
            "The import took longer than the worker allows; nothing was imported. Split the "
            "file into smaller ones."
        )
    else:
        logger.exception("import %s failed", job_id, exc_info=exc)
        message = _(
            "The import stopped because of an internal error; nothing was imported. Run it "
            "again, or ask your administrator to look at the worker's log."
        )
    try:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            error_message=message,
            finished_at=timezone.now(),
            processed_rows=0,
            created_count=0,
            updated_count=0,
            skipped_count=0,
            error_count=0,
        )
    except DatabaseError:
        # The database is gone too: the job stays "running" without a lock, which its
        # page shows as interrupted, with a button to run it again.
        logger.exception("import %s: could not record the failure", job_id)


def _report_save(job: ImportJob, layout: CsvLayout, rejects: _Rejects) -> str:
    with tempfile.TemporaryFile(mode="w+b") as raw:
        # UTF-8 with a byte-order mark, so that Excel shows the letters right; the file's
        # own delimiter, so that it opens in the Excel the file came from.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rejects.write_report(text, job=job, layout=layout)
        text.flush()
        text.detach()
        raw.seek(0)
        stamp = timezone.now()
        return default_storage.save(
            f"imports/{stamp:%Y}/{stamp:%m}/rejected-{job.pk}-{uuid.uuid4().hex[:8]}.csv",
            File(raw),
        )


# --- The job's SQL ---------------------------------------------------------------------------

_STAGE_SQL = """
CREATE TEMPORARY TABLE import_stage (
    row_no integer NOT NULL,
    email text NOT NULL,
    external_id text,
    phone text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    company text NOT NULL,
    job_title text NOT NULL,
    company_size integer,
    country text NOT NULL,
    source text NOT NULL
) ON COMMIT DROP
"""
_COPY_SQL = (
    "COPY import_stage (row_no, email, external_id, phone, first_name, last_name, company,"
    " job_title, company_size, country, source) FROM STDIN (FORMAT csv)"
)

# The suppression list holds SHA-256 of the normalised address (selectors.email_hash);
# the staged email is normalised already.
_SUPPRESSED_SQL = """
DELETE FROM import_stage AS s
USING marketing_suppression AS x
WHERE x.email_hash = encode(sha256(convert_to(s.email, 'UTF8')), 'hex')
RETURNING s.row_no
"""

# An external id that belongs to another person (another address) cannot be given to
# this one: the row is reported. A lead with that id and no address is this person.
# One index probe a row (LATERAL … LIMIT 1): the lead table grows inside this very
# transaction, so the planner's statistics for it are stale and would choose to scan
# all of it once a batch.
_EXTERNAL_CONFLICT_SQL = """
DELETE FROM import_stage AS s
WHERE s.row_no IN (
    SELECT staged.row_no
    FROM import_stage AS staged
    CROSS JOIN LATERAL (
        SELECT 1 FROM marketing_lead AS l
        WHERE l.external_id = staged.external_id
          AND l.email IS NOT NULL AND l.email <> staged.email
        LIMIT 1
    ) AS taken
    WHERE staged.external_id IS NOT NULL
)
RETURNING s.row_no
"""

# Leads entered without an address (API by external id, or phone only) are the same
# person as a row with that external id, or else that phone, when the row's address is
# new: they get the address, and the upsert below then treats them as existing. Only
# used when such leads exist at all.
_CLAIM_BY_EXTERNAL_ID_SQL = """
UPDATE marketing_lead AS l SET email = s.email, updated_at = now()
FROM import_stage AS s
WHERE s.external_id IS NOT NULL AND l.external_id = s.external_id AND l.email IS NULL
  AND l.erased_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM marketing_lead AS o WHERE o.email = s.email)
"""
_CLAIM_BY_PHONE_SQL = """
UPDATE marketing_lead AS l SET email = m.email, updated_at = now()
FROM (
    SELECT DISTINCT ON (p.phone) p.phone, s.email, p.id
    FROM import_stage AS s
    JOIN (
        SELECT DISTINCT ON (phone) phone, id FROM marketing_lead
        WHERE email IS NULL AND erased_at IS NULL AND phone <> ''
        ORDER BY phone, id
    ) AS p ON p.phone = s.phone
    WHERE NOT EXISTS (SELECT 1 FROM marketing_lead AS o WHERE o.email = s.email)
    ORDER BY p.phone, s.row_no
) AS m
WHERE l.id = m.id
"""

# "Skip" mode: rows whose person is a lead without an address (by external id or phone).
_SKIP_KNOWN_SQL = """
DELETE FROM import_stage AS s
USING marketing_lead AS l
WHERE l.email IS NULL AND l.erased_at IS NULL AND (
    (s.external_id IS NOT NULL AND l.external_id = s.external_id)
    OR (s.phone <> '' AND l.phone = s.phone)
)
"""

# One batch: the leads (new ones inserted, known ones filled where empty), a touchpoint
# for each, and a "created" event for each new one. Touchpoint ids are drawn first, so
# that a lead's first and last touch are written with the lead (no second UPDATE of a
# million rows). ``xmax = 0`` tells an inserted row from an updated one.
_UPSERT_HEAD = """
WITH src AS (
    SELECT s.*, nextval(%(touch_sequence)s::oid::regclass) AS touch_id
    FROM import_stage AS s
), up AS (
    INSERT INTO marketing_lead AS l (
        email, external_id, phone, first_name, last_name, company, job_title, company_size,
        country, stage, campaign_id, source, fit_score, engagement_score, grade,
        fast_tracked, first_touch_id, last_touch_id, created_at, updated_at
    )
    SELECT email, external_id, phone, first_name, last_name, company, job_title,
        company_size, country, 'lead', %(campaign_id)s::bigint,
        COALESCE(NULLIF(source, ''), %(source)s), 0, 0, 'D', false, touch_id, touch_id,
        now(), now()
    FROM src
"""
_UPSERT_UPDATE = """
    ON CONFLICT (email) DO UPDATE SET
        external_id = COALESCE(l.external_id, EXCLUDED.external_id),
        phone = COALESCE(NULLIF(l.phone, ''), EXCLUDED.phone),
        first_name = COALESCE(NULLIF(l.first_name, ''), EXCLUDED.first_name),
        last_name = COALESCE(NULLIF(l.last_name, ''), EXCLUDED.last_name),
        company = COALESCE(NULLIF(l.company, ''), EXCLUDED.company),
        job_title = COALESCE(NULLIF(l.job_title, ''), EXCLUDED.job_title),
        company_size = COALESCE(l.company_size, EXCLUDED.company_size),
        country = COALESCE(NULLIF(l.country, ''), EXCLUDED.country),
        source = COALESCE(NULLIF(l.source, ''), EXCLUDED.source),
        campaign_id = COALESCE(l.campaign_id, EXCLUDED.campaign_id),
        first_touch_id = COALESCE(l.first_touch_id, EXCLUDED.first_touch_id),
        last_touch_id = EXCLUDED.last_touch_id,
        scored_at = NULL,
        updated_at = now()
    -- An erased lead keeps its row for the counts, not its data: it is never filled.
    WHERE l.erased_at IS NULL
"""
_UPSERT_SKIP = """
    ON CONFLICT (email) DO NOTHING
"""
_UPSERT_TAIL = """
    RETURNING l.id, l.last_touch_id AS touch_id, (l.xmax = 0) AS inserted
), tp AS (
    INSERT INTO marketing_touchpoint (
        id, lead_id, kind, campaign_id, form_id, utm_source, utm_medium, utm_campaign,
        utm_term, utm_content, gclid, fbclid, referrer, landing_page, dedupe_key, created_at
    )
    SELECT touch_id, id, 'import', %(campaign_id)s::bigint, NULL, %(utm_source)s,
        %(utm_medium)s, %(utm_campaign)s, '', '', '', '', '', '', NULL, now()
    FROM up
), ev AS (
    INSERT INTO leadflow_event (
        subject_type, subject_id, kind, actor_id, rule, reason, old_value, new_value,
        created_at
    )
    SELECT %(subject_type)s, id, 'created', %(actor_id)s::bigint, %(rule)s, '', '', 'lead', now()
    FROM up WHERE inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
    COALESCE(array_agg(id) FILTER (WHERE inserted), '{}') FROM up
"""


def _fk_checks_skippable(cursor: Any) -> bool:
    """Whether this session may turn the foreign-key triggers off for its transaction.

    Postgres checks every foreign key of every inserted row with a query of its own: for
    a million rows that is five million lookups (lead → campaign, first and last touch;
    touchpoint → lead, campaign), more time than the whole rest of the import. Here each
    reference is right by construction: the leads and touchpoints are written by these
    very statements in this transaction, and the campaign is locked against deletion
    until it commits. ``session_replication_role = replica`` (what pg_restore and logical
    replication use) skips the checks; it needs a superuser or, from Postgres 15, ``GRANT
    SET ON PARAMETER session_replication_role``. Without the privilege the import is
    slower, not different. It also silences ordinary triggers: the tables written here
    have none that fire on INSERT (the event log's guard fires on UPDATE and DELETE).
    """
    cursor.execute(
        "SELECT current_setting('is_superuser') = 'on' OR ("
        " current_setting('server_version_num')::int >= 150000"
        " AND has_parameter_privilege('session_replication_role', 'SET'))"
    )
    return bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class _Batch:
    """Checked rows in COPY's CSV form, cut by the reading thread."""

    data: str
    rows: int  # staged rows in ``data``
    read: int  # rows of the file read so far, this batch included
    rejected: int  # of those, rows the reading rejected
    last: bool


class _Reader(threading.Thread):
    """Reads, checks and formats the rows in a thread of its own, a batch ahead of the
    writing: Python's per-row work then runs on one core while Postgres writes the
    previous batch on the other. It touches no database connection."""

    def __init__(
        self, job: ImportJob, layout: CsvLayout, cleaner: RowCleaner, rejects: _Rejects
    ) -> None:
        super().__init__(name=f"import-{job.pk}-reader", daemon=True)
        self.job, self.layout, self.cleaner, self.rejects = job, layout, cleaner, rejects
        self.batches: queue.Queue[_Batch | BaseException] = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        # The active language is per thread: the reasons must be in the job's.
        self.language = translation.get_language()

    def run(self) -> None:
        try:
            with translation.override(self.language):
                self._read()
        except BaseException as exc:  # handed to the writing thread, which raises it
            self._put(exc)

    def _put(self, item: _Batch | BaseException) -> None:
        while not self.stop.is_set():
            try:
                self.batches.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _read(self) -> None:
        clean, rejects = self.cleaner.clean, self.rejects
        seen_email: dict[str, int] = {}
        seen_external: dict[str, int] = {}
        buffer = io.StringIO()
        # Every cell quoted but NULL: COPY then tells an empty string from NULL.
        writerow = csv.writer(buffer, quoting=csv.QUOTE_NOTNULL).writerow
        read = staged = 0
        with self.job.file.open("rb") as handle:
            for row_no, cells in rows_read(handle, self.layout):
                read += 1
                row, problems = clean(cells)
                if row is None:
                    rejects.add(row_no, problems, cells)
                    continue
                first = seen_email.setdefault(row[0], row_no)
                if first != row_no:
                    rejects.add(row_no, [_duplicate_reason(first)], cells)
                    continue
                if row[1] is not None:
                    first = seen_external.setdefault(row[1], row_no)
                    if first != row_no:
                        rejects.add(row_no, [_duplicate_external_reason(first)], cells)
                        continue
                writerow((row_no, *row))
                staged += 1
                if staged == BATCH_ROWS:
                    self._put(_Batch(buffer.getvalue(), staged, read, rejects.found, last=False))
                    if self.stop.is_set():
                        return
                    buffer.seek(0)
                    buffer.truncate()
                    staged = 0
        self._put(_Batch(buffer.getvalue(), staged, read, rejects.found, last=True))


def _import_execute(
    job: ImportJob,
    layout: CsvLayout,
    progress: _Progress,
    rejects: _Rejects,
    *,
    skip_fk_checks: bool | None,
) -> ImportOutcome:
    """The job inside its transaction: batch by batch, stage the checked rows and write
    them set-wise, while the reader prepares the next batch."""
    outcome = ImportOutcome()
    cleaner = RowCleaner(layout.headers, mapping_clean(layout.headers, job.mapping))
    progress.set(force=True, total_rows=max(layout.rows_estimate, 1))
    campaign = job.campaign
    sql = (
        _UPSERT_HEAD
        + (_UPSERT_UPDATE if job.mode == ImportJob.Mode.UPDATE else _UPSERT_SKIP)
        + _UPSERT_TAIL
    )
    params: dict[str, Any] = {
        "campaign_id": job.campaign_id,
        "source": "import",
        "utm_source": campaign.utm_source if campaign else "",
        "utm_medium": campaign.utm_medium if campaign else "",
        "utm_campaign": campaign.utm_campaign if campaign else "",
        "subject_type": LEAD,
        "actor_id": job.created_by_id,
        "rule": f"import: {job.original_name}"[:200],
    }
    external_mapped = "external_id" in job.mapping.values()
    reader = _Reader(job, layout, cleaner, rejects)
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        if skip_fk_checks is None:
            skip_fk_checks = _fk_checks_skippable(cursor)
        if job.campaign_id is not None:
            # The campaign cannot be deleted under the import (see _fk_checks_skippable).
            cursor.execute(
                "SELECT 1 FROM marketing_campaign WHERE id = %s FOR KEY SHARE", [job.campaign_id]
            )
        cursor.execute("SELECT EXISTS (SELECT 1 FROM marketing_suppression)")
        check_suppressed = bool(cursor.fetchone()[0])
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM marketing_lead WHERE email IS NULL AND erased_at IS NULL)"
        )
        check_unaddressed = bool(cursor.fetchone()[0])
        # The sequence by oid: looked up once, not once a row.
        cursor.execute("SELECT pg_get_serial_sequence('marketing_touchpoint', 'id')::regclass::oid")
        params["touch_sequence"] = cursor.fetchone()[0]
        # The batch's rows, touchpoint ids drawn, are held in memory between statements.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # ON COMMIT DROP removes it after a job; a caller's enclosing transaction (two
        # imports in one test) may still hold the previous job's.
        cursor.execute("DROP TABLE IF EXISTS import_stage")
        cursor.execute(_STAGE_SQL)
        if skip_fk_checks:
            cursor.execute("SET LOCAL session_replication_role = replica")
        reader.start()
        try:
            while True:
                batch = reader.batches.get()
                if isinstance(batch, BaseException):
                    raise batch
                if batch.rows:
                    cursor.execute("TRUNCATE import_stage")
                    with cursor.copy(_COPY_SQL) as copy:
                        copy.write(batch.data)
                    later = _rejects_later(
                        cursor, suppressed=check_suppressed, external=external_mapped
                    )
                    for row_no, reason in later:
                        rejects.add_later(row_no, reason)
                    if check_unaddressed:
                        _claim_known(cursor, mode=job.mode)
                    cursor.execute(sql, params)
                    created, updated, created_ids = cursor.fetchone()
                    outcome.created += created
                    outcome.updated += updated
                    new_ids.extend(created_ids)
                outcome.total = batch.read
                outcome.rejected = batch.rejected + len(rejects.later)
                progress.set(
                    force=batch.last,
                    processed_rows=batch.read,
                    total_rows=max(layout.rows_estimate, batch.read)
                    if not batch.last
                    else batch.read,
                    created_count=outcome.created,
                    updated_count=outcome.updated,
                    error_count=outcome.rejected,
                )
                if batch.last:
                    break
        finally:
            reader.stop.set()
            reader.join()
        if skip_fk_checks:
            cursor.execute("SET LOCAL session_replication_role = origin")
    if new_ids:
        # Webhooks of "lead.created", written in the job's transaction with the leads (and
        # with the foreign-key checks back on).
        bus.publish("leads.created", lead_ids=new_ids)
    # Rows that neither made nor touched a lead and were not rejected: people who exist,
    # in "skip" mode (and erased leads, which are never filled).
    outcome.skipped = outcome.total - outcome.rejected - outcome.created - outcome.updated
    return outcome


def _duplicate_external_reason(row_no: int) -> str:
    return _("The same external ID is on row %(row)s; only the first row is imported.") % {
        "row": row_no
    }


def _rejects_later(cursor: Any, *, suppressed: bool, external: bool) -> list[tuple[int, str]]:
    """Rows of the stage the SQL refuses, removed from it: suppressed addresses and
    external ids that belong to somebody else."""
    found: list[tuple[int, str]] = []
    if suppressed:
        cursor.execute(_SUPPRESSED_SQL)
        reason = _suppressed_reason()
        found += [(row_no, reason) for (row_no,) in cursor.fetchall()]
    if external:
        cursor.execute(_EXTERNAL_CONFLICT_SQL)
        reason = _("The external ID belongs to another lead, with a different email.")
        found += [(row_no, reason) for (row_no,) in cursor.fetchall()]
    return found


def _claim_known(cursor: Any, *, mode: str) -> None:
    """Give addresses to the leads that are this file's people but have none yet (see the
    SQL). In "skip" mode those people are left alone instead: their rows leave the stage
    (and count as skipped)."""
    if mode == ImportJob.Mode.UPDATE:
        cursor.execute(_CLAIM_BY_EXTERNAL_ID_SQL)
        cursor.execute(_CLAIM_BY_PHONE_SQL)
    else:
        cursor.execute(_SKIP_KNOWN_SQL)
