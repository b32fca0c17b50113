"""Sections of the member page that other apps contribute (mobility, ledger, life...).

An app registers a function in its own `sections.py`, imported by its AppConfig.ready();
`members/` never imports the apps.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

from .models import Member


@dataclass(frozen=True)
class MemberSection:
    slug: str
    title: str
    order: int
    context: Callable[[HttpRequest, Member], dict]
    template: str


_sections: list[MemberSection] = []


def member_section(*, slug: str, title: str, order: int, template: str):
    def register(context: Callable[[HttpRequest, Member], dict]):
        _sections.append(MemberSection(slug, title, order, context, template))
        return context

    return register


def render_member_sections(request: HttpRequest, member: Member) -> list[dict]:
    return [
        {
            "slug": section.slug,
            "title": section.title,
            "html": render_to_string(
                section.template, {"member": member, **section.context(request, member)}, request
            ),
        }
        for section in sorted(_sections, key=lambda s: s.order)
    ]
