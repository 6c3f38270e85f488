"""Checking and normalising one row: ``RowCleaner`` turns the cells of a row into the
staged lead (email, phone in E.164, company size, country, names) or the reasons the row
cannot be imported."""

from __future__ import annotations

import functools
import operator
import re

from django.utils.translation import gettext as _
from phonenumbers.phonenumberutil import SUPPORTED_REGIONS

from leadflow.errors import ApplicationError
from marketing.imports.mapping import IMPORT_FIELDS, _spellings, header_key
from marketing.imports.phones import _NOT_DIGIT, _phone_fast
from marketing.services import normalize_phone

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


_EMAIL = re.compile(
    r"[^\s@\"(),:;<>\[\\\]]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_](?:[\w-]*[^\W_])?"
)
_SIZE = re.compile(
    r"(\d{1,3}(?:[ ,.'\u00a0\u202f]\d{3})+|\d+)(?:[.,]0+)?"
    r"\s*(?:(?:-|\u2013|\u2014|to|до)\s*(?:\d[\d ,.'\u00a0\u202f]*)|\+)?"
    r"(?:\s*(?:employees|people|staff|сотрудник\w*|человек|чел\.?))?"
)


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
