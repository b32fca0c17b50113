"""The member page's section about the member's own page: the link, and what waits."""

from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from activities.panels import activity_panel
from ledgers import selfreport
from members.sections import member_page_read, member_section
from members.selectors import home_side_ids

from . import access, meetings, selectors


@member_page_read
def with_own_link(members):
    return members.select_related("own_link")


@member_section(
    slug="own-page",
    title=_("The member's own page"),
    order=75,
    template="selfservice/member_section.html",
)
def own_page_section(request, member) -> dict:
    if not home_side_ids(user=request.user, members=[member]):
        return {"hidden": True}
    link = getattr(member, "own_link", None)
    live = link is not None and link.revoked_at is None
    url = access.url_for(link) if live else ""
    return {
        "link": link,
        "live": live,
        "url": url,
        # segno's SVG, made from our own URL.
        "qr": mark_safe(selfreport.qr_svg(url)) if live else "",  # noqa: S308
        "has_mobile": access.ways_to_prove(member)[0].channel == "sms",
        # Only for a member who has had a link: no link, nothing done there, no query.
        "events": selectors.own_page_events(member=member) if link is not None else [],
    }


@activity_panel(slug="replies", template="selfservice/activity_replies.html")
def meeting_replies(request, activity) -> dict | None:
    """Who said, from their own page, they will come, come online, or be excused."""
    replies = list(meetings.replies_for(activity))
    return {"replies": replies} if replies else None
