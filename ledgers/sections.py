from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from alerts.registry import registered_rules
from members import periods
from members.models import EvidenceBaseline
from members.sections import member_section
from members.selectors import member_is_hosted_for

from . import evidence, selfreport
from .models import FiveClearsItem
from .selectors import confirm_cutoffs, contacts_of, ledger_record_of


def _value(item, member, episode, record) -> str:
    if item == FiveClearsItem.CONTACT:
        return member.phone
    if item == FiveClearsItem.CONDUCT:
        # The note itself is shown only on request (conduct_views), which logs the read.
        return record.get_conduct_assessment_display() if record.conduct_assessment else ""
    if episode is None:
        return ""
    if item == FiveClearsItem.LEFT:
        return episode.left_on.isoformat()
    if item == FiveClearsItem.WHERE:
        return " ".join(part for part in (episode.destination, episode.address) if part)
    return " · ".join(part for part in (episode.occupation, episode.employer) if part)


@member_section(
    slug="ledger",
    title=_("Five-clears ledger and contacts"),
    order=20,
    template="ledgers/member_ledger.html",
)
def ledger(request, member) -> dict:
    today = timezone.localdate()
    episode = member.mobility_episodes.current().first()
    record = ledger_record_of(member)
    cutoffs = confirm_cutoffs(today)
    items = []
    for item, label in FiveClearsItem.choices:
        value = _value(item, member, episode, record)
        confirmed_on = getattr(record, f"{item}_confirmed_on")
        items.append(
            {
                "item": item,
                "label": label,
                "value": value,
                "confirmed_on": confirmed_on,
                "confirmed_by": getattr(record, f"{item}_confirmed_by", None),
                "clear": bool(value) and confirmed_on is not None and confirmed_on >= cutoffs[item],
                "has_note": item == FiveClearsItem.CONDUCT and bool(record.conduct_note),
            }
        )
    contacts = list(contacts_of(member)[:20])
    editable = not member_is_hosted_for(user=request.user, member=member)
    return {
        "away": episode is not None,
        "items": items,
        "contacts": contacts,
        "last_reached": next((c.on for c in contacts if c.reached), None),
        "editable": editable,
        "pending_reports": member.self_reports.filter(status="pending"),
        "share": _self_report_share(member) if episode is not None and editable else None,
    }


def _self_report_share(member) -> dict:
    """This month's self-report link, to copy into WeChat or SMS or show as a QR code: most
    mobile members have no e-mail."""
    link = selfreport.link_for(member, selfreport.period_of(timezone.localdate()))
    return {"link": link, "qr": mark_safe(selfreport.qr_svg(link))}  # noqa: S308 - segno's SVG


@member_section(
    slug="standing",
    title=_("Signs of life and decisions on membership"),
    order=25,
    template="ledgers/member_standing.html",
)
def standing(request, member) -> dict:
    today = timezone.localdate()
    episode = member.mobility_episodes.current().first()
    baseline = EvidenceBaseline.objects.filter(member=member).first()
    signs = evidence.signs_of_life(member, baseline=baseline)
    start = evidence.clock_start(
        member, left_on=episode.left_on if episode else None, signs=signs, baseline=baseline
    )
    titles = {rule.code: rule.title for rule in registered_rules()}
    terms = list(member.correction_terms.select_related("opened_by"))
    for term in terms:
        term.rule_title = titles.get(term.condition, term.condition)
    return {
        "home": not member_is_hosted_for(user=request.user, member=member),
        "signs": signs,
        "baseline": baseline,
        "clock_start": start if episode else None,
        "lost_from": (
            periods.months_after(start, settings.LOST_CONTACT_MONTHS) + timedelta(days=1)
            if episode and start
            else None
        ),
        "today": today,
        "decisions": list(member.decisions.select_related("recorded_by")),
        "terms": terms,
    }
