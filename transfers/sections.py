from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.sections import member_page_read, member_section, page_rows
from members.selectors import member_is_hosted_for

from .classification import Arrangement
from .models import ActivityCertificate, RelationshipTransfer, TransferEvent
from .selectors import episodes_for_page, member_classification, with_member_page_facts

member_page_read(with_member_page_facts)


@member_section(
    slug="mobility",
    title=_("Mobility, certificate and transfer"),
    order=10,
    template="transfers/member_mobility.html",
)
def mobility(request, member) -> dict:
    episodes = episodes_for_page(member)
    current = next((e for e in episodes if e.is_current), None)
    certificates = page_rows(member, "has_certificates", member.certificates.all())
    transfers = page_rows(
        member,
        "has_transfers",
        member.transfers.select_related(
            "from_branch", "from_external", "to_organisation", "to_external"
        ).prefetch_related(
            Prefetch("events", queryset=TransferEvent.objects.select_related("actor"))
        ),
    )
    today = timezone.localdate()
    classification = member_classification(member=member, today=today, episode=current)
    valid_certificate = next(
        (c for c in certificates if c.status == ActivityCertificate.Status.VALID), None
    )
    open_transfer = next(
        (t for t in transfers if t.state in RelationshipTransfer.OPEN_STATES), None
    )
    return {
        "today": today,
        "episodes": episodes,
        "current": current,
        "classification": classification,
        "next_step": next_step_now(classification, valid_certificate, open_transfer),
        "certificates": certificates,
        "valid_certificate": valid_certificate,
        "transfers": transfers,
        "open_transfer": open_transfer,
        "editable": not member_is_hosted_for(user=request.user, member=member),
    }


def next_step_now(classification, certificate, transfer) -> str:
    """The rule's next step, unless it is done already: the member page never asks to issue a
    certificate that is issued, or to start a transfer that is under way."""
    if classification is None:
        return ""
    arrangement = classification.arrangement
    if transfer is not None and arrangement in (
        Arrangement.TRANSFER_REQUIRED,
        Arrangement.CERTIFICATE,
    ):
        return _("Transfer under way (%(state)s): follow it below.") % {
            "state": transfer.get_state_display()
        }
    if arrangement == Arrangement.CERTIFICATE and certificate is not None:
        if classification.due_on:
            return _(
                "Certificate %(number)s issued. If still there on %(date)s, transfer the "
                "relationship."
            ) % {"number": certificate.number, "date": classification.due_on.isoformat()}
        return _("Certificate %(number)s issued: keep in touch, and review it yearly.") % {
            "number": certificate.number
        }
    return classification.next_step
