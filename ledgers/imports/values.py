"""Reading one cell: dates in every spelling, yes/no, mobility types, conduct, destinations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache

from django.core.exceptions import ValidationError
from django.utils import translation

from transfers import divisions
from transfers.models import MobilityEpisode

from .headers import (
    ASSESSMENT_KEYWORDS,
    ASSESSMENT_LABELS,
    DESTINATION_FIELDS,
    MOBILITY_KEYWORDS,
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


def _zh(error: ValidationError) -> str:
    with translation.override("zh-hans"):
        return str(error.messages[0])


# --- destinations ----------------------------------------------------------------------------

PSEUDO_CITIES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


@dataclass(frozen=True)
class Destination:
    province: str = ""
    city: str = ""
    county: str = ""
    country: str = ""
    address: str = ""

    def as_fields(self) -> dict[str, str]:
        parts = (self.province, self.city, self.county, self.country, self.address)
        return dict(zip(DESTINATION_FIELDS, parts, strict=True))

    @property
    def region(self) -> str:
        city = "" if self.city in PSEUDO_CITIES else self.city
        return self.province + city


def _short_city_names(city: str) -> list[str]:
    names = [city]
    for suffix in ("市", "地区", "盟"):
        if city.endswith(suffix) and len(city) - len(suffix) >= 2:
            names.append(city[: -len(suffix)])
    if city.endswith("自治州"):
        names += [city[:2] + "州", city[:2]]
    return names


@cache
def _division_index():
    provinces: dict[str, str] = {}
    cities: dict[str, dict[str, str]] = {}
    national_cities: dict[str, tuple[str, str] | None] = {}
    for province in divisions.provinces():
        provinces[province] = province
        for suffix in PROVINCE_SUFFIXES:
            if province.endswith(suffix) and len(province) > len(suffix):
                provinces.setdefault(province[: -len(suffix)], province)
                break
        by_name: dict[str, str] = {}
        for city in divisions.cities(province):
            names = [city] if city in PSEUDO_CITIES else _short_city_names(city)
            for name in names:
                by_name.setdefault(name, city)
                if city not in PSEUDO_CITIES:
                    key = (province, city)
                    national_cities[name] = key if national_cities.get(name, key) == key else None
        cities[province] = by_name
    national = {name: key for name, key in national_cities.items() if key is not None}
    return provinces, cities, national


def _longest_prefix(text: str, names: dict[str, object], longest: int = 12):
    for length in range(min(len(text), longest), 1, -1):
        if text[:length] in names:
            return text[:length]
    return None


def _county_prefix(text: str, province: str, city: str) -> str | None:
    counties = divisions.counties(province, city)
    for length in range(min(len(text), 12), 1, -1):
        if text[:length] in counties:
            return text[:length]
    return None


def _after_province(province: str, text: str) -> tuple[str, str, str] | None:
    """(city, county, rest) for text that follows a province name, or None."""
    _provinces, cities, _national = _division_index()
    alias = _longest_prefix(text, cities[province])
    if alias is not None:
        city = cities[province][alias]
        rest = text[len(alias) :]
        county = _county_prefix(rest, province, city)
        if county is not None:
            return city, county, rest[len(county) :]
        if city not in PSEUDO_CITIES:
            return city, "", rest
    for city in divisions.cities(province):  # municipalities and county-level cities
        county = _county_prefix(text, province, city)
        if county is not None:
            return city, county, text[len(county) :]
    return None


@lru_cache(maxsize=4096)
def parse_destination(text: str, *, abroad: bool = False) -> Destination:
    """广东省深圳市南山区科技园 -> 广东省 / 深圳市 / 南山区 / 科技园 (short forms too)."""
    text = text.replace(" ", "")
    provinces, _cities, national = _division_index()
    alias = _longest_prefix(text, provinces)
    if alias is not None:
        province = provinces[alias]
        rest = text[len(alias) :]
        found = _after_province(province, rest)
        if found is None and alias != province:
            found = _after_province(province, text)  # 吉林市… : "吉林" was the city
            if found is not None:
                rest = text
        if found is None and rest.startswith(province):  # 上海市上海市…: named twice
            rest = rest[len(province) :]
            found = _after_province(province, rest)
        if found is not None:
            city, county, address = found
            return Destination(province, city, county, "", address)
        city = "市辖区" if province in MUNICIPALITIES else ""  # as the episode form stores it
        return Destination(province, city, "", "", rest)
    alias = _longest_prefix(text, national)
    if alias is not None:
        province, city = national[alias]
        rest = text[len(alias) :]
        county = _county_prefix(rest, province, city) or ""
        return Destination(province, city, county, "", rest[len(county) :])
    if abroad and len(text) <= 50:
        return Destination(country=text)
    return Destination(address=text)
