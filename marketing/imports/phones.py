"""The fast path of phone numbers: E.164 for the plain, common spellings without
phonenumbers' full parse, giving exactly its answer or none (``_phone_fast``)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    SUPPORTED_REGIONS,
    region_code_for_country_code,
)

_PHONE_INTERNATIONAL = re.compile(r"\s*\+[\d\s().\-]*")
_PHONE_NATIONAL = re.compile(r"[\d\s().\-]*")
_NOT_DIGIT = re.compile(r"\D")


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
