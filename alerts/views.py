"""The alert inbox and the alert page, where a secretary sees why and acts."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from infrastructure.steps import step_view
from members.sections import render_member_sections
from members.selectors import organisation_from_query

from . import selectors, services
from .forms import CorrectionTermForm, EmailPreferenceForm, InboxFilterForm, NoteForm, SnoozeForm
from .models import EmailPreference
from .registry import registered_rules, rule_book_entries


@require_GET
@transaction.non_atomic_requests  # reads only (a few stale figures recount in their own)
def inbox(request):
    form = InboxFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    organisation = organisation_from_query(request)
    summary = selectors.alert_summary(user=request.user, kept=True)
    paginator = Paginator(
        selectors.alert_inbox(user=request.user, organisation=organisation, **filters), 50
    )
    if organisation is None and not filters.get("severity") and not filters.get("state"):
        # The summary has counted these already: no second count over every open alert.
        kind = filters.get("kind")
        paginator.count = sum(r["count"] for r in summary if not kind or r["rule"].code == kind)
    page = paginator.get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    titles = {rule.code: rule for rule in registered_rules()}
    for alert in page:
        alert.rule = titles.get(alert.kind)
    return render(
        request,
        "alerts/alert_inbox.html",
        {
            "form": form,
            "organisation": organisation,
            "page": page,
            "summary": summary,
            "query_string": query_string.urlencode(),
        },
    )


def _links(rule, member) -> list[tuple[str, str]]:
    links = []
    for label, url_name in rule.actions if rule else ():
        try:
            links.append((label, reverse(url_name, args=[member.pk])))
        except NoReverseMatch:
            continue
    return links


@require_GET
def alert_detail(request, pk: int):
    alert = selectors.alert_get(user=request.user, pk=pk)
    rule = selectors.rule_of(alert)
    return render(
        request,
        "alerts/alert_detail.html",
        {
            "alert": alert,
            "rule": rule,
            "links": _links(rule, alert.member),
            "actions": alert.actions.select_related("actor"),
            "evidence": [
                section
                for section in render_member_sections(request, alert.member)
                if section["slug"] in ("standing", "ledger", "life")
            ],
            "today": timezone.localdate(),
        },
    )


def _alert_step(request, pk: int, *, form, title, perform, done):
    alert = selectors.alert_get(user=request.user, pk=pk)
    detail = reverse("alerts:detail", args=[alert.pk])
    return step_view(
        request,
        form=form,
        title=title,
        subject=alert.member,
        cancel_url=detail,
        then=detail,
        perform=lambda data: perform(alert, data),
        done=done,
    )


def alert_acknowledge(request, pk: int):
    return _alert_step(
        request,
        pk,
        form=NoteForm(request.POST or None),
        title=_("Acknowledge the alert"),
        perform=lambda a, d: services.alert_acknowledge(
            actor=request.user, alert=a, note=d["note"]
        ),
        done=_("Acknowledged."),
    )


def alert_snooze(request, pk: int):
    return _alert_step(
        request,
        pk,
        form=SnoozeForm(request.POST or None),
        title=_("Snooze the alert"),
        perform=lambda a, d: services.alert_snooze(
            actor=request.user, alert=a, until=d["until"], reason=d["reason"]
        ),
        done=_("Snoozed."),
    )


def alert_resolve(request, pk: int):
    return _alert_step(
        request,
        pk,
        form=NoteForm(request.POST or None),
        title=_("Resolve the alert"),
        perform=lambda a, d: services.alert_resolve(actor=request.user, alert=a, note=d["note"]),
        done=_("Resolved. If the condition still holds, the next scan opens it again."),
    )


def correction_term_new(request, pk: int):
    """Criticism and education on a six-month alert, and a term to correct (Reg. arts. 29-30)."""
    return _alert_step(
        request,
        pk,
        form=CorrectionTermForm(
            request.POST or None,
            initial={
                "educated_on": timezone.localdate(),
                "months": settings.CORRECTION_TERM_MAX_MONTHS,
            },
        ),
        title=_("Record criticism and education, and set a term to correct"),
        perform=lambda a, d: services.correction_term_open(actor=request.user, alert=a, **d),
        done=_("Recorded. When the term ends with the condition still there, an alert says so."),
    )


def email_preferences(request):
    preference, _created = EmailPreference.objects.get_or_create(user=request.user)
    form = EmailPreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your e-mail settings are saved."))
        return redirect("home")
    return render(request, "alerts/email_preferences.html", {"form": form})


@require_GET
def rule_book(request):
    """Every rule: its source, thresholds, the alert it raises and the first step required."""
    return render(request, "alerts/rule_book.html", {"rules": rule_book_entries()})
