"""China's administrative divisions, bundled (see data/README.md), for destinations."""

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "divisions.json"


@cache
def tree() -> dict[str, dict[str, list[str]]]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def provinces() -> list[str]:
    return list(tree())


def cities(province: str) -> list[str]:
    return list(tree().get(province, {}))


def all_cities() -> list[str]:
    return sorted({city for cities in tree().values() for city in cities if city != "市辖区"})


def counties(province: str, city: str) -> list[str]:
    return tree().get(province, {}).get(city, [])


def city_of_county(province: str, county: str) -> str | None:
    for city, names in tree().get(province, {}).items():
        if county in names:
            return city
    return None
