"""Places typed by people: "深圳", "深圳市", "广东深圳", "广东省深圳市南山区科技园" are one place.

The one parser of destinations, on the bundled divisions (divisions.py): the departure form,
the ledger's import and the dashboard's city table all read places through it.
"""

from dataclasses import dataclass
from functools import cache, lru_cache

from . import divisions

# The episode's fields, in Destination's order.
FIELDS = (
    "destination_province",
    "destination_city",
    "destination_county",
    "destination_country",
    "address",
)

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
        return dict(zip(FIELDS, parts, strict=True))

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


def canonical_city(province: str, city: str) -> str:
    """A municipality's city as the divisions name it ("市辖区"): "上海市 上海市", "上海市" with no
    city and "上海市 市辖区" are one place, counted once."""
    if province in MUNICIPALITIES and city in ("", province, province.removesuffix("市")):
        return "市辖区"
    return city
