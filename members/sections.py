"""Sections of the member page that other apps contribute (mobility, ledger, life...).

An app registers a function in its own `sections.py`, imported by its AppConfig.ready();
`members/` never imports the apps.

The page reads each fact once (issue #18), in two ways an app plugs into:

- `member_page_read`: what to read together with the member, in the one query that fetches it
  for the page: rows joined one to one (`select_related`) and single values as annotations (a
  latest date; whether a list has any rows, so that an empty list costs no query). The
  sections find them on the member; called with a member read otherwise (the alert page), they
  read the same facts themselves.
- `page_fact`: a fact several sections need (the member's stretches away, say), remembered on
  the Member object while its sections are rendered. That object lives for one request.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string

from .models import Member

T = TypeVar("T")
MemberRead = Callable[[QuerySet[Member]], QuerySet[Member]]
_FACTS = "_member_page_facts"


@dataclass(frozen=True)
class MemberSection:
    slug: str
    title: str
    order: int
    context: Callable[[HttpRequest, Member], dict]
    template: str


_sections: list[MemberSection] = []
_reads: list[MemberRead] = []


def member_section(*, slug: str, title: str, order: int, template: str):
    def register(context: Callable[[HttpRequest, Member], dict]):
        _sections.append(MemberSection(slug, title, order, context, template))
        return context

    return register


def member_page_read(read: MemberRead) -> MemberRead:
    """Register `read(members) -> members`: what the member page reads with the member itself
    (select_related of one-to-one rows, annotations with one value each). Annotation names are
    attributes of the member: each app keeps to its own."""
    _reads.append(read)
    return read


def member_page_query(members: QuerySet[Member]) -> QuerySet[Member]:
    """`members` with everything the registered sections read with the member."""
    for read in _reads:
        members = read(members)
    return members


def page_fact(member: Member, key: str, compute: Callable[[], T]) -> T:
    """`compute()`, once per member page however many sections ask (`key`: "<app>.<fact>").
    Outside the rendering of the sections, computed at each call: nothing stale is kept."""
    facts = member.__dict__.get(_FACTS)
    if facts is None:
        return compute()
    if key not in facts:
        facts[key] = compute()
    return facts[key]


def page_rows(member: Member, flag: str, rows: Iterable[T]) -> list[T]:
    """The rows of one of the page's lists. `flag` names an annotation of the page's query that
    is false when the list is empty: then no query is made. Without it, the rows are read."""
    if not getattr(member, flag, True):
        return []
    return list(rows)


def render_member_sections(request: HttpRequest, member: Member) -> list[dict]:
    member.__dict__[_FACTS] = {}
    try:
        return [
            {
                "slug": section.slug,
                "title": section.title,
                "html": render_to_string(
                    section.template,
                    {"member": member, **section.context(request, member)},
                    request,
                ),
            }
            for section in sorted(_sections, key=lambda s: s.order)
        ]
    finally:
        del member.__dict__[_FACTS]
