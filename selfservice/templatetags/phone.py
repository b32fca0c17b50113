"""The phone pages' style sheet, inlined: on a 3G line a second request costs a round trip
(about 0.56 s), which alone would break the one-second page (issue #19)."""

from functools import lru_cache

from django import template
from django.contrib.staticfiles import finders
from django.utils.safestring import mark_safe

register = template.Library()


@lru_cache(maxsize=1)
def _sheet() -> str:
    with open(finders.find("css/phone.css"), encoding="utf-8") as source:
        return source.read()


@register.simple_tag
def phone_css() -> str:
    return mark_safe(_sheet())  # noqa: S308 - our own file
