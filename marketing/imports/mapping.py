"""Recognising and checking the column mapping: which lead field each CSV column becomes.

The header spellings of Salesforce and HubSpot exports and of common English and Russian
sheets are recognised (``mapping_detect``); the mapping a person chose is checked
(``mapping_clean``).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leadflow.errors import ApplicationError

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
