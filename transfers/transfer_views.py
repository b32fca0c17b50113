"""Thin views of relationship transfers and introduction letters (mobility and activity
certificates: views.py). Each finds the transfer through a scoped selector, validates a form
and calls one service."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from infrastructure.client_address import client_address
from infrastructure.steps import step_on, step_view
from members import selectors as member_selectors
from members.access_log import log_sensitive_access
from members.models import SensitiveAccess

from . import pdf, selectors, services
from .forms import (
    ApproveForm,
    DateForm,
    IncomingMemberForm,
    ReissueLetterForm,
    RejectForm,
    TransferRequestForm,
)
from .models import RelationshipTransfer


def _member_url(member) -> str:
    return reverse("members:detail", args=[member.pk]) + "#mobility"


@require_GET
def transfer_list(request):
    state = request.GET.get("state", "")
    transfers = selectors.transfers_visible_to(request.user)
    if state in RelationshipTransfer.State.values:
        transfers = transfers.filter(state=state)
    organisation = member_selectors.organisation_from_query(request)
    if organisation is not None:  # the sending side, as the dashboard counts pending transfers
        transfers = transfers.filter(from_branch__path__startswith=organisation.path)
    page = Paginator(transfers, 50).get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "transfers/transfer_list.html",
        {
            "to_decide": selectors.transfers_to_decide(user=request.user),
            "to_accept": selectors.transfers_to_accept(user=request.user),
            "page": page,
            "state": state,
            "states": RelationshipTransfer.State.choices,
            "organisation": organisation,
            "query_string": query_string.urlencode(),
        },
    )


def transfer_draft(request, member_pk: int):
    """Ask for a transfer: one form, submitted to the reviewers at once. A receiving
    organisation not yet listed is typed in and added with the request."""
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    form = TransferRequestForm(
        request.POST or None,
        destinations=selectors.transfer_destinations(),
    )
    return step_view(
        request,
        form=form,
        title=_("Transfer the organisational relationship"),
        subject=member,
        cancel_url=_member_url(member),
        perform=lambda data: reverse(
            "transfers:transfer_detail",
            args=[services.transfer_request(actor=request.user, member=member, **data).pk],
        ),
        done=_("Submitted to the reviewers."),
    )


@require_GET
def transfer_detail(request, pk: int):
    transfer = selectors.transfer_get(user=request.user, pk=pk)
    user = request.user
    today = timezone.localdate()
    return render(
        request,
        "transfers/transfer_detail.html",
        {
            "transfer": transfer,
            "letter": transfer.current_letter,
            "today": today,
            "sending_side": member_selectors.members_editable_by(user)
            .filter(pk=transfer.member_id)
            .exists(),
            "can_decide": selectors.can_decide(user, transfer),
            "can_accept": selectors.transfers_to_accept(user=user).filter(pk=transfer.pk).exists(),
            # What the reviewer weighs before approving: time away, dues, certificates.
            "facts": selectors.transfer_review_facts(transfer=transfer, today=today)
            if selectors.sees_review_facts(user, transfer)
            else None,
        },
    )


def _transfer_step(request, pk: int, *, transfer=None, **step):
    transfer = transfer or selectors.transfer_get(user=request.user, pk=pk)
    page = reverse("transfers:transfer_detail", args=[transfer.pk])
    return step_on(request, transfer, page=page, **step)


def transfer_submit(request, pk: int):
    return _transfer_step(
        request,
        pk,
        form=DateForm(request.POST or None, label=_("submitted on")),
        title=_("Submit for approval"),
        done=_("Submitted to the reviewers."),
        perform=lambda t, data: services.transfer_submit(actor=request.user, transfer=t),
    )


def transfer_withdraw(request, pk: int):
    return _transfer_step(
        request,
        pk,
        form=DateForm(request.POST or None, label=_("withdrawn on")),
        title=_("Withdraw the transfer"),
        done=_("Transfer withdrawn."),
        perform=lambda t, data: services.transfer_withdraw(actor=request.user, transfer=t),
    )


def transfer_approve(request, pk: int):
    transfer = selectors.transfer_get(user=request.user, pk=pk)
    # 党费交至 starts from the latest payment recorded (or the imported ledger), when known.
    initial = {}
    if selectors.sees_review_facts(request.user, transfer):
        initial["dues_paid_until"] = selectors.dues_facts(transfer.member).paid_until
    form = ApproveForm(request.POST or None, initial=initial)
    return _transfer_step(
        request,
        pk,
        transfer=transfer,
        form=form,
        title=_("Approve and issue the introduction letter"),
        done=_("Approved. Print the introduction letter."),
        perform=lambda t, data: services.transfer_approve(
            actor=request.user, transfer=t, issued_on=timezone.localdate(), **data
        ),
    )


def transfer_reject(request, pk: int):
    return _transfer_step(
        request,
        pk,
        form=RejectForm(request.POST or None),
        title=_("Reject the transfer"),
        done=_("Rejected; the branch sees your reason."),
        perform=lambda t, data: services.transfer_reject(
            actor=request.user, transfer=t, reason=data["reason"]
        ),
    )


def transfer_reissue_letter(request, pk: int):
    return _transfer_step(
        request,
        pk,
        form=ReissueLetterForm(request.POST or None),
        title=_("Reissue the introduction letter"),
        done=_("A new letter was issued; the old one is void."),
        perform=lambda t, data: services.letter_reissue(
            actor=request.user, transfer=t, issued_on=timezone.localdate(), **data
        ),
    )


def transfer_accept(request, pk: int):
    return _transfer_step(
        request,
        pk,
        form=DateForm(request.POST or None, label=_("accepted on")),
        title=_("Accept the member"),
        done=_("Accepted: the member's relationship is now with your branch."),
        perform=lambda t, data: services.transfer_accept(
            actor=request.user, transfer=t, on=data["on"]
        ),
    )


def transfer_letter_received(request, pk: int):
    return _transfer_step(
        request,
        pk,
        form=DateForm(request.POST or None, label=_("received by the receiving side on")),
        title=_("The receiving organisation received the introduction letter"),
        done=_("Recorded: the receipt is due one month after that day."),
        perform=lambda t, data: services.letter_record_received(
            actor=request.user, transfer=t, received_on=data["on"]
        ),
    )


def transfer_receipt(request, pk: int):
    return _transfer_step(
        request,
        pk,
        form=DateForm(request.POST or None, label=_("receipt returned on")),
        title=_("Record the returned receipt"),
        done=_("Receipt recorded: the member is transferred out."),
        perform=lambda t, data: services.transfer_record_receipt(
            actor=request.user, transfer=t, returned_on=data["on"]
        ),
    )


@require_GET
def letter_pdf(request, pk: int):
    transfer = selectors.transfer_get_for_letter(user=request.user, pk=pk)
    letter = transfer.current_letter
    if letter is None:
        raise Http404
    # The letter carries the full ID number: printing it is a sensitive read.
    log_sensitive_access(
        user=request.user,
        member=transfer.member,
        action=SensitiveAccess.Action.PRINT_LETTER,
        ip_address=client_address(request),
    )
    response = HttpResponse(pdf.letter_pdf(letter), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="letter-{letter.number}.pdf"'
    return response


def incoming_register(request):
    form = IncomingMemberForm(request.POST or None, user=request.user)
    return step_view(
        request,
        form=form,
        title=_("Register a member arriving with an introduction letter"),
        subject=None,
        cancel_url=reverse("transfers:transfer_list"),
        perform=lambda data: reverse(
            "members:detail",
            args=[
                services.incoming_register(
                    actor=request.user,
                    member=form.instance,
                    from_external=data["from_external"],
                    letter_number=data["letter_number"],
                    arrived_on=data["arrived_on"],
                ).member_id
            ],
        ),
        done=_("Member registered in your branch."),
    )
