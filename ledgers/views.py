"""Thin views for the ledger, contacts, census campaigns, and import/export."""

import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from infrastructure.client_address import client_address
from infrastructure.db_router import lagging_reads_ok
from infrastructure.steps import StepRefused, step_view
from infrastructure.xlsx import write_table_xlsx
from members import phone, validators
from members import selectors as member_selectors
from members.access_log import log_sensitive_access
from members.forms import PhoneInput
from members.models import Member, SensitiveAccess

from . import background, exporting, selectors, selfreport, services, staging
from .forms import CampaignForm, ContactForm, ImportUploadForm, ItemForm, ledger_filters
from .models import (
    INFLOW_ITEMS,
    ContactAttempt,
    FiveClearsItem,
    LedgerExport,
    LedgerImport,
    SelfReport,
)

BACKGROUND_UNAVAILABLE = gettext_lazy(
    "Background work is not available right now (the queue cannot be reached). Nothing was "
    "changed; please try again in a few minutes."
)
CANNOT_KEEP_FILE = gettext_lazy(
    "The file cannot be kept for the import right now. Nothing was changed; please upload it "
    "again in a few minutes."
)


def _back(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _ledger_query(request, *, life: bool = True):
    """The ledger rows for the current filters (shared by the page and the exports)."""
    form, filters = ledger_filters(request.GET, user=request.user)
    rows = selectors.ledger_rows(
        user=request.user, today=timezone.localdate(), life=life, **filters
    )
    return form, filters, rows


def _outflow_root(request, filters: dict):
    """The subtree of an outflow ledger without narrowing filters, else None."""
    narrowed = any(filters[key] for key in ("not_clear_only", "arrangement", "mobility_type"))
    if filters["side"] != "outflow" or narrowed or filters["province"]:
        return None
    return filters["branch"] or member_selectors.scope_root_of(request.user)


# A county has a thousand branches: its ledger page shows those furthest behind, and all of
# them when asked (rendering a thousand rows took longer than the rest of the page).
BRANCHES_SHOWN = 50


@require_GET
@transaction.non_atomic_requests  # reads only (a few stale figures recount in their own)
def ledger(request):
    form, filters, rows = _ledger_query(request)
    side, branch = filters["side"], filters["branch"]
    # A large subtree's figures are last night's; otherwise one grouped pass gives the
    # per-branch figures, their total and the page count.
    root = (
        None if member_selectors.sees_everything(request.user) else _outflow_root(request, filters)
    )
    per_branch, as_of = (
        selectors.branch_completeness(rows, root=root, today=timezone.localdate())
        if side == "outflow"
        else ([], None)
    )
    overall = (
        selectors.completeness_total(per_branch)
        if side == "outflow"
        else selectors.completeness(rows)[0]
    )
    if len(per_branch) < 2:
        per_branch = []  # the overall figure says it all
    branches_total = len(per_branch)
    if branches_total > BRANCHES_SHOWN and request.GET.get("branches") != "all":
        per_branch = sorted(per_branch, key=lambda c: (c.percent, c.name))[:BRANCHES_SHOWN]
    paginator = Paginator(rows, 50)
    paginator.count = overall.total
    page = paginator.get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "ledgers/ledger.html",
        {
            "side": side,
            "form": form,
            "branch": branch,
            "page": page,
            "overall": overall,
            "as_of": as_of,
            "per_branch": per_branch,
            "branches_total": branches_total,
            "items": FiveClearsItem.choices,
            "inflow_items": INFLOW_ITEMS,
            "query_string": query_string.urlencode(),
        },
    )


def export_in_background(request, *, file_format: str, query: dict, total: int):
    """A large export as a job the worker builds; the user waits for it on the jobs page."""
    job = background.ledger_export_start(
        actor=request.user,
        file_format=file_format,
        query=query,
        total=total,
        ip_address=client_address(request),
    )
    if job.status == LedgerExport.Status.FAILED:
        messages.error(request, BACKGROUND_UNAVAILABLE)
    else:
        messages.info(
            request, _("A large export runs in the background; it appears here when ready.")
        )
    return redirect("ledgers:jobs")


@require_GET
@transaction.non_atomic_requests  # the job must be committed before the worker looks for it
@lagging_reads_ok
def ledger_export(request, file_format: str):
    if file_format not in ("xlsx", "csv"):
        raise Http404
    _form, filters, rows = _ledger_query(request, life=False)
    side = filters["side"]
    total = rows.count()
    if total > settings.EXPORT_BACKGROUND_ROWS:
        return export_in_background(
            request, file_format=file_format, query=request.GET.dict(), total=total
        )
    log_sensitive_access(
        user=request.user,
        action=SensitiveAccess.Action.EXPORT_LEDGER,
        ip_address=client_address(request),
    )
    episodes = rows.iterator(chunk_size=2000)
    full_ids = side != "inflow"  # the hosting side sees masked ID numbers, as on the page
    if file_format == "xlsx":
        content = exporting.export_ledger_xlsx(
            episodes,
            full_ids=full_ids,
            organisation=filters["branch"] or member_selectors.scope_root_of(request.user),
            side=side,
        )
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content = exporting.export_ledger_csv(episodes, full_ids=full_ids)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    name = f"ledger-{side}-{timezone.localdate():%Y%m%d}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def ledger_template(request):
    response = HttpResponse(
        exporting.template_xlsx(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="ledger-template.xlsx"'
    return response


@require_POST
def ledger_confirm(request, member_pk: int):
    """One click: the items are still true as they stand (all the user keeps, by default)."""
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    items = request.POST.getlist("item") or list(
        selectors.ledger_items_kept_by(user=request.user, member=member)
    )
    try:
        services.ledger_confirm(
            actor=request.user, member=member, items=items, on=timezone.localdate()
        )
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("Confirmed for %(name)s.") % {"name": member.name})
    return redirect(_back(request, reverse("ledgers:ledger")))


def ledger_item_edit(request, member_pk: int, item: str):
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    if item not in selectors.ledger_items_kept_by(user=request.user, member=member, change=True):
        raise Http404  # an unknown item, or the home side's for a hosting user
    episode = member.mobility_episodes.current().first()
    record = selectors.ledger_record_of(member)
    form = ItemForm(request.POST or None, item=item, member=member, episode=episode, record=record)
    if item == FiveClearsItem.CONDUCT and record.conduct_note and request.method == "GET":
        # The edit form shows the note: opening it is a read like the note's own page.
        log_sensitive_access(
            user=request.user,
            action=SensitiveAccess.Action.VIEW_CONDUCT_NOTE,
            member=member,
            ip_address=client_address(request),
        )
    back = _back(request, reverse("members:detail", args=[member.pk]) + "#ledger")
    return step_view(
        request,
        form=form,
        title=_("%(item)s: change and confirm") % {"item": FiveClearsItem(item).label},
        subject=member,
        cancel_url=back,
        then=back,
        perform=lambda data: services.ledger_update_item(
            actor=request.user, member=member, item=item, values=data, on=timezone.localdate()
        ),
        done=_("Saved and confirmed."),
    )


@require_POST
def contact_reached_today(request, member_pk: int):
    """One click: reached by phone today (which also confirms the contact details)."""
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    services.contact_record(
        actor=request.user,
        member=member,
        on=timezone.localdate(),
        channel=ContactAttempt.Channel.PHONE,
        reached=True,
    )
    messages.success(request, _("Contact with %(name)s recorded.") % {"name": member.name})
    return redirect(_back(request, reverse("ledgers:ledger")))


def contact_new(request, member_pk: int):
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    form = ContactForm(request.POST or None)
    back = reverse("members:detail", args=[member.pk]) + "#ledger"
    return step_view(
        request,
        form=form,
        title=_("Record a contact attempt"),
        subject=member,
        cancel_url=back,
        then=back,
        perform=lambda data: services.contact_record(actor=request.user, member=member, **data),
        done=_("Contact attempt recorded."),
    )


# --- import -----------------------------------------------------------------------------------


def _import_branches(user):
    return member_selectors.member_branch_choices(user=user)


def import_upload(request):
    """Step 1: upload; the preview shows what each row would do. Nothing is written yet."""
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, branches=_import_branches(request.user)
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        branch = form.cleaned_data["branch"]
        preview = background.import_preview(
            actor=request.user, file_name=upload.name, content=upload.read(), branch=branch
        )
        if not preview.kept:
            messages.error(request, CANNOT_KEEP_FILE)
        return render(
            request,
            "ledgers/import_preview.html",
            {
                "plan": preview.plan,
                "job": preview.job,
                "token": preview.token,
                "partial_token": preview.partial_token,
                "branch": branch,
            },
        )
    return render(request, "ledgers/import_upload.html", {"form": form})


@require_POST
@transaction.non_atomic_requests  # a failed import must still be recorded as failed
def import_apply(request, pk: int):
    """Step 2: the user confirms the preview (all rows, or with `skip_broken` the rows without
    errors); big files go to the worker."""
    job = get_object_or_404(
        LedgerImport, pk=pk, user=request.user, status=LedgerImport.Status.PREVIEWED
    )
    content = staging.fetch(request.POST.get("token", ""))
    if content is None or hashlib.sha256(content).hexdigest() != job.file_sha256:
        messages.error(request, _("The uploaded file has expired. Please upload it again."))
        return redirect("ledgers:import_upload")
    branch = (
        member_selectors.member_branch_choices(user=request.user)
        .filter(pk=request.POST.get("branch") or 0)
        .first()
    )
    outcome = background.import_confirm(
        job=job,
        content=content,
        token=request.POST["token"],
        branch=branch,
        skip_broken=request.POST.get("skip_broken") == "1",
    )
    if outcome == background.QUEUED:
        messages.info(request, _("The import runs in the background. You can leave this page."))
    elif outcome == background.QUEUE_DOWN:
        messages.error(request, BACKGROUND_UNAVAILABLE)
    elif outcome == background.FAILED:
        messages.error(request, services.NOTHING_WRITTEN)
    return redirect("ledgers:import_detail", pk=job.pk)


@require_GET
def import_detail(request, pk: int):
    job = get_object_or_404(LedgerImport, pk=pk, user=request.user)
    return render(request, "ledgers/import_detail.html", {"job": job})


@require_GET
def import_errors(request, pk: int):
    """The problems of an import as .xlsx: every problem (row, column, why), or with
    ?layout=sheet the broken rows in the uploaded sheet's own layout with 错误原因, to fix and
    upload again."""
    job = get_object_or_404(LedgerImport, pk=pk, user=request.user)
    as_sheet = request.GET.get("layout") == "sheet"
    kept = services.BROKEN_ROWS_FILE if as_sheet else services.ERRORS_FILE
    content = staging.fetch(kept.format(pk=job.pk))
    if content is None:
        raise Http404
    if as_sheet:  # ledger rows with full ID numbers, as an export is
        log_sensitive_access(
            user=request.user,
            action=SensitiveAccess.Action.EXPORT_LEDGER,
            ip_address=client_address(request),
        )
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"import-{job.pk}-rows-to-fix.xlsx" if as_sheet else f"import-{job.pk}-errors.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def jobs(request):
    return render(
        request,
        "ledgers/jobs.html",
        {
            "imports": LedgerImport.objects.filter(user=request.user).select_related("branch")[:50],
            "exports": LedgerExport.objects.filter(user=request.user)[:20],
        },
    )


@require_GET
def export_download(request, pk: int):
    job = get_object_or_404(
        LedgerExport, pk=pk, user=request.user, status=LedgerExport.Status.READY
    )
    content = staging.fetch(f"export-{job.pk}")
    if content is None:
        raise Http404
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="ledger-{job.pk}.{job.file_format}"'
    return response


# --- census campaigns -------------------------------------------------------------------------


@require_GET
def campaign_list(request):
    return render(
        request,
        "ledgers/campaign_list.html",
        {"campaigns": selectors.campaigns_visible_to(request.user)},
    )


def campaign_new(request):
    scope = member_selectors.scope_root_of(request.user)
    form = CampaignForm(request.POST or None)
    return step_view(
        request,
        form=form,
        title=_("Open a census campaign"),
        subject=scope,
        cancel_url=reverse("ledgers:campaign_list"),
        perform=lambda data: reverse(
            "ledgers:campaign_detail",
            args=[services.campaign_open(actor=request.user, organisation=scope, **data).pk],
        ),
        done=_("Campaign opened. Every branch below now sees its checklist."),
    )


@require_GET
def campaign_detail(request, pk: int):
    campaign = selectors.campaign_get(user=request.user, pk=pk)
    progress = selectors.campaign_progress(user=request.user, campaign=campaign)
    checklist = selectors.campaign_checklist(user=request.user, campaign=campaign)
    return render(
        request,
        "ledgers/campaign_detail.html",
        {
            "campaign": campaign,
            "progress": progress,
            "total": sum(p.total for p in progress),
            "verified": sum(p.clear for p in progress),
            "checklist": checklist[:500],
            "can_close": campaign.closed_on is None and campaign.opened_by_id == request.user.pk,
        },
    )


@require_POST
def campaign_close(request, pk: int):
    campaign = selectors.campaign_get(user=request.user, pk=pk)
    try:
        services.campaign_close(actor=request.user, campaign=campaign, on=timezone.localdate())
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    return redirect("ledgers:campaign_detail", pk=campaign.pk)


@require_GET
@lagging_reads_ok
def campaign_export(request, pk: int):
    campaign = selectors.campaign_get(user=request.user, pk=pk)
    rows = [
        [p.name, p.total, p.clear, f"{p.percent}%"]
        for p in selectors.campaign_progress(user=request.user, campaign=campaign)
    ]
    content = write_table_xlsx(
        ["党支部", "流动党员数", "已核实", "完成率"], rows, title=campaign.name[:30]
    )
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.xlsx"'
    return response


# --- the member's self-report --------------------------------------------------------------


SELF_REPORT_NOTE_MAX = 500  # a public form: a note, not a document


class SelfReportForm(forms.ModelForm):
    class Meta:
        model = SelfReport
        fields = ["where", "occupation", "phone", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3}), "phone": PhoneInput()}

    def __init__(self, *args, member: Member, **kwargs):
        super().__init__(*args, **kwargs)
        validators.limit_length(self.fields["note"], SELF_REPORT_NOTE_MAX)
        self.member = member
        if member.phone:  # a blank answer keeps the number on record
            self.fields["phone"].required = False
            self.fields["phone"].help_text = _(
                "On record: %(phone)s. Leave empty if it has not changed."
            ) % {"phone": phone.masked(member.phone)}

    def clean_phone(self) -> str:
        return phone.validate(self.cleaned_data["phone"] or self.member.phone)


@login_not_required
def self_report(request, token: str):
    """Public, signed and expiring: the member confirms or corrects their own ledger entry."""
    try:
        member, period = selfreport.read_token(token)
    except (signing.BadSignature, Member.DoesNotExist):
        return render(request, "ledgers/self_report.html", {"invalid": True}, status=404)
    form = SelfReportForm(
        request.POST or None, member=member, initial=selfreport.known_answers(member)
    )
    done = SelfReport.objects.filter(member=member, period=period).exists()
    if request.method == "POST" and not done and form.is_valid():
        try:
            selfreport.submit(member=member, period=period, **form.cleaned_data)
        except StepRefused as refused:
            form.add_error(None, refused.messages)
        else:
            done = True
    return render(
        request,
        "ledgers/self_report.html",
        {"form": form, "done": done, "masked_name": member.name[0] + "*" * (len(member.name) - 1)},
    )


@require_POST
def self_report_decide(request, pk: int):
    report = get_object_or_404(
        SelfReport.objects.filter(member__in=member_selectors.members_editable_by(request.user)),
        pk=pk,
    )
    try:
        selfreport.decide(
            actor=request.user, report=report, accept=request.POST.get("accept") == "1"
        )
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("Self-report handled."))
    return redirect(_back(request, reverse("members:detail", args=[report.member_id]) + "#ledger"))
