"""What the steps share: the county and committee above a branch, and numbering."""

from members.models import Organisation

from ..models import (
    NumberSequence,
)

# --- helpers -----------------------------------------------------------------------------
#
# Each write that can change what a rule finds (an episode, a certificate, a transfer step)
# calls `evidence_changed`: after the commit the member's rules run again, so an alert whose
# condition is gone closes the same day (the nightly scan stays the full pass).


def _county_of(organisation: Organisation) -> Organisation:
    return Organisation.objects.get(path=organisation.path[: Organisation.steplen])


def _committee_of(branch: Organisation) -> Organisation:
    paths = [branch.path[: d * Organisation.steplen] for d in range(1, branch.depth)]
    committee = (
        Organisation.objects.filter(path__in=paths, kind=Organisation.Kind.COMMITTEE)
        .order_by("-depth")
        .first()
    )
    return committee or _county_of(branch)


def _next_number(*, county: Organisation, kind: str, year: int) -> int:
    """The next number in a county's yearly sequence; the row lock serialises numbering."""
    NumberSequence.objects.get_or_create(county=county, kind=kind, year=year)
    sequence = NumberSequence.objects.select_for_update().get(county=county, kind=kind, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last
