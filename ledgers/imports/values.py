"""Reading one cell: dates in every spelling, yes/no, mobility types, conduct, destinations."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils import translation

from transfers.models import MobilityEpisode

from .headers import (
    ASSESSMENT_KEYWORDS,
    ASSESSMENT_LABELS,
    ASSESSMENT_NAMES,
    CONDUCT_UNCLEAR,
    MOBILITY_KEYWORDS,
    MOBILITY_LABELS,
    NO,
    YES,
    normalise_text,
)

# --- values ----------------------------------------------------------------------------------

_FULL_DATE = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_DATE = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)
_TIME_SUFFIX = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
DATE_FORMATS_HINT = "请写成 2024-05-01、2024/5/1、2024.05、2024年5月1日 或 20240501"


class BadValue(Exception):
    pass


def parse_date(value, *, from_xlsx: bool = False) -> tuple[date, bool]:
    """(date, precise). Month-only dates give the 1st and precise=False. Raises BadValue."""
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    if isinstance(value, int | float) and not isinstance(value, bool):
        if from_xlsx and 10000 <= value < 100000:
            # A date cell that lost its format: an Excel serial day number (1927-2173).
            return date(1899, 12, 30) + timedelta(days=int(value)), True
        # Excel turns a typed 2024.05 into the number 2024.05, and 2024.10 into 2024.1.
        text = repr(value)
        if isinstance(value, float) and re.fullmatch(r"\d{4}\.1", text):
            raise BadValue(f"“{text}”可能是1月也可能是10月：请写成 {text[:4]}-01 或 {text[:4]}-10")
    text = normalise_text(value)
    text = _TIME_SUFFIX.sub("", text).replace(" ", "")
    for pattern, precise in [(p, True) for p in _FULL_DATE] + [(p, False) for p in _MONTH_DATE]:
        match = pattern.match(text)
        if match:
            parts = [int(part) for part in match.groups()] + ([] if precise else [1])
            try:
                parsed = date(*parts)
            except ValueError:
                raise BadValue(f"日期无效：“{text}”不是真实存在的日期") from None
            if parsed.year < 1900:
                raise BadValue(f"日期无效：“{text}”早于1900年")
            return parsed, precise
    raise BadValue(f"无法识别的日期“{text}”：{DATE_FORMATS_HINT}")


def parse_yes_no(value) -> bool:
    text = normalise_text(value).upper()
    if text in YES:
        return True
    if text in NO:
        return False
    raise BadValue(f"应填写“是”或“否”，而不是“{normalise_text(value)}”")


@lru_cache(maxsize=4096)
def mobility_type_of(text: str) -> str:
    for kind, words in MOBILITY_KEYWORDS:
        if any(word in text for word in words):
            return kind
    return MobilityEpisode.Type.WORK


@lru_cache(maxsize=4096)
def conduct_of(text: str) -> tuple[str, str]:
    """(assessment, note) from a 思想动态 cell; "良好：…" as the exporter writes it."""
    for label, assessment in ASSESSMENT_LABELS.items():
        if text == label:
            return assessment, ""
        if text.startswith(label) and text[len(label) : len(label) + 1] in ("：", ":"):
            return assessment, text[len(label) + 1 :].strip()
    for assessment, words in ASSESSMENT_KEYWORDS:
        if any(word in text for word in words):
            return assessment, text
    return "", text


@lru_cache(maxsize=4096)
def conduct_mapped(text: str) -> str | None:
    """What free text in 思想动态 is read as (良好, 一般, 需关注, or 不清 when no keyword
    places it); None when the cell names the assessment itself ("良好", "良好：…")."""
    for label in ASSESSMENT_LABELS:
        if text == label or (
            text.startswith(label) and text[len(label) : len(label) + 1] in ("：", ":")
        ):
            return None
    assessment, _note = conduct_of(text)
    return ASSESSMENT_NAMES.get(assessment, CONDUCT_UNCLEAR)


@lru_cache(maxsize=4096)
def mobility_mapped(text: str) -> str | None:
    """The 流动类型 free text is read as (就业流动 when no keyword places it); None when the
    cell is that type's own name, as the exporter writes it."""
    label = MOBILITY_LABELS[mobility_type_of(text)]
    return None if text == normalise_text(label) else label


def _zh(error: ValidationError) -> str:
    with translation.override("zh-hans"):
        return str(error.messages[0])
