"""The note on a member's thought and conduct: shown only on purpose, and logged."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from infrastructure.client_address import client_address
from members import selectors as member_selectors
from members.access_log import log_sensitive_access
from members.models import SensitiveAccess

from .selectors import ledger_record_of


@require_POST
def conduct_note(request, member_pk: int):
    # A POST, like revealing an ID number: a link prefetch or a crawler cannot open it.
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    record = ledger_record_of(member)
    if not record.conduct_note:
        raise Http404
    log_sensitive_access(
        user=request.user,
        action=SensitiveAccess.Action.VIEW_CONDUCT_NOTE,
        member=member,
        ip_address=client_address(request),
    )
    return render(request, "ledgers/conduct_note.html", {"member": member, "record": record})
