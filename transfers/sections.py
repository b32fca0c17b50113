from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.sections import member_section
from members.selectors import member_is_hosted_for

from .models import ActivityCertificate, RelationshipTransfer
from .selectors import member_classification


@member_section(
    slug="mobility",
    title=_("Mobility, certificate and transfer"),
    order=10,
    template="transfers/member_mobility.html",
)
def mobility(request, member) -> dict:
    episodes = list(
        member.mobility_episodes.select_related("inflow_organisation", "inflow_external").order_by(
            "-left_on", "-id"
        )
    )
    certificates = list(member.certificates.all())
    transfers = list(
        member.transfers.select_related(
            "from_branch", "from_external", "to_organisation", "to_external"
        ).prefetch_related("events__actor")
    )
    today = timezone.localdate()
    return {
        "today": today,
        "episodes": episodes,
        "current": next((e for e in episodes if e.is_current), None),
        "classification": member_classification(member=member, today=today),
        "certificates": certificates,
        "valid_certificate": next(
            (c for c in certificates if c.status == ActivityCertificate.Status.VALID), None
        ),
        "transfers": transfers,
        "open_transfer": next(
            (t for t in transfers if t.state in RelationshipTransfer.OPEN_STATES), None
        ),
        "editable": not member_is_hosted_for(user=request.user, member=member),
    }
