from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from alerts.registry import registered_rules
from members import periods
from members.models import CorrectionTerm, EvidenceBaseline, Member, MembershipDecision
from members.sections import member_page_read, member_section, page_rows
from members.selectors import member_is_hosted_for
from transfers.selectors import current_episode_for_page

from . import evidence, selfreport
from .models import (
    INFLOW_CHANGES,
    INFLOW_ITEMS,
    ContactAttempt,
    FiveClearsItem,
    LedgerRecord,
    SelfReport,
)
from .selectors import ITEMS, confirm_cutoffs, contacts_of, ledger_record_of


@member_page_read
def with_member_page_facts(members):
    """What the member page reads with the member: the five-clears record with who confirmed
    each item, the evidence before Liudong, the latest successful contact, and whether each of
    this room's lists has rows."""
    member = OuterRef("pk")
    return (
        evidence.with_last_reached(members)
        .select_related("baseline", *(f"ledger__{item}_confirmed_by" for item in ITEMS))
        .annotate(
            has_contacts=Exists(ContactAttempt.objects.filter(member=member)),
            has_pending_reports=Exists(
                SelfReport.objects.filter(member=member, status=SelfReport.Status.PENDING)
            ),
            has_correction_terms=Exists(CorrectionTerm.objects.filter(member=member)),
            has_decisions=Exists(MembershipDecision.objects.filter(member=member)),
        )
    )


def _record(member) -> LedgerRecord:
    """The five-clears record: joined to the member by the page's query, else read now."""
    if not Member.ledger.is_cached(member):
        return ledger_record_of(member)
    try:
        return member.ledger
    except LedgerRecord.DoesNotExist:
        return LedgerRecord(member=member)


def _baseline(member) -> EvidenceBaseline | None:
    """The evidence before Liudong (joined by the page's query; read once otherwise)."""
    try:
        return member.baseline
    except EvidenceBaseline.DoesNotExist:
        return None


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
    episode = current_episode_for_page(member)
    record = _record(member)
    cutoffs = confirm_cutoffs(today)
    editable = not member_is_hosted_for(user=request.user, member=member)
    changed = FiveClearsItem.values if editable else INFLOW_CHANGES  # the reader sees the member
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
                "changes": item in changed,
            }
        )
    contacts = page_rows(member, "has_contacts", contacts_of(member)[:20])
    return {
        "away": episode is not None,
        "items": items,
        "contacts": contacts,
        "last_reached": next((c.on for c in contacts if c.reached), None),
        "editable": editable,
        "inflow_items": [] if editable else INFLOW_ITEMS,
        "pending_reports": page_rows(
            member,
            "has_pending_reports",
            member.self_reports.filter(status=SelfReport.Status.PENDING),
        ),
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
    episode = current_episode_for_page(member)
    baseline = _baseline(member)
    signs = evidence.signs_of_life(member, baseline=baseline)
    start = evidence.clock_start(
        member, left_on=episode.left_on if episode else None, signs=signs, baseline=baseline
    )
    titles = {rule.code: rule.title for rule in registered_rules()}
    terms = page_rows(
        member, "has_correction_terms", member.correction_terms.select_related("opened_by")
    )
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
        "decisions": page_rows(
            member, "has_decisions", member.decisions.select_related("recorded_by")
        ),
        "terms": terms,
    }
