from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from members.demo import SECRETARY_BRANCH
from members.models import Member, StaffAssignment
from members.selectors import members_visible_to
from transfers import selectors
from transfers.models import (
    ActivityCertificate,
    CertificateReview,
    IntroductionLetter,
    MobilityEpisode,
    RelationshipTransfer,
    TransferEvent,
)

TODAY = timezone.localdate()

State = RelationshipTransfer.State


@pytest.fixture
def demo(db):
    call_command("seed_demo")


def counts():
    return (
        ActivityCertificate.objects.count(),
        CertificateReview.objects.count(),
        RelationshipTransfer.objects.count(),
        IntroductionLetter.objects.count(),
        TransferEvent.objects.count(),
        Member.objects.count(),
        StaffAssignment.objects.count(),
    )


def test_demo_has_transfers_in_every_state_for_the_demo_logins(demo):
    for state in State.values:
        assert RelationshipTransfer.objects.filter(state=state).exists(), state
    assert RelationshipTransfer.objects.filter(
        direction=RelationshipTransfer.Direction.INCOMING, state=State.COMPLETED
    ).exists()
    completed = RelationshipTransfer.objects.filter(state=State.COMPLETED)
    assert completed.filter(to_organisation__isnull=False, from_branch__isnull=False).exists()
    assert completed.filter(member__status=Member.Status.TRANSFERRED_OUT).exists()

    live = IntroductionLetter.objects.filter(
        state=IntroductionLetter.State.ISSUED, transfer__state=State.APPROVED
    )
    assert live.filter(expires_on__lt=TODAY).exists()  # an expired letter
    assert live.filter(transfer__to_external__isnull=False, expires_on__gte=TODAY).exists()
    assert IntroductionLetter.objects.filter(state=IntroductionLetter.State.SUPERSEDED).exists()
    # The secretary has a transfer to accept, live well past the demo's today.
    for_secretary = live.get(transfer__to_organisation__name=SECRETARY_BRANCH)
    assert for_secretary.expires_on >= TODAY + timedelta(days=60)
    member = for_secretary.transfer.member
    assert member.home_branch.name != SECRETARY_BRANCH
    secretary = User.objects.get(username="secretary")
    assert members_visible_to(secretary).filter(pk=member.pk).exists()  # hosted there
    # The reviewer has a transfer to decide.
    reviewer = User.objects.get(username="reviewer")
    waiting = RelationshipTransfer.objects.filter(state=State.SUBMITTED)
    assert any(selectors.can_decide(reviewer, transfer) for transfer in waiting)
    assert all(
        n.startswith("511925-") for n in IntroductionLetter.objects.values_list("number", flat=True)
    )
    # The actors are inactive and nobody can log in with them.
    for username in ("demo-operator", "demo-reviewer2"):
        actor = User.objects.get(username=username)
        assert not actor.is_active and not actor.has_usable_password()


def test_demo_has_certificates_in_every_state_and_hosted_members(demo):
    statuses = set(ActivityCertificate.objects.values_list("status", flat=True))
    assert set(ActivityCertificate.Status.values) <= statuses
    assert ActivityCertificate.objects.filter(reissue_of__status="lost", status="valid").exists()
    assert all(
        number.startswith("511925")
        for number in ActivityCertificate.objects.values_list("number", flat=True)
    )
    assert ActivityCertificate.objects.filter(arrived_on__isnull=False).exists()
    assert CertificateReview.objects.filter(year__lt=TODAY.year).exists()
    returned = ActivityCertificate.objects.get(status=ActivityCertificate.Status.RETURNED)
    assert returned.episode.end_reason == MobilityEpisode.EndReason.RETURNED
    hosted_by_secretary = MobilityEpisode.objects.filter(
        ended_on__isnull=True, inflow_organisation__name=SECRETARY_BRANCH
    ).exclude(member__home_branch__name=SECRETARY_BRANCH)
    assert 2 <= hosted_by_secretary.count() <= 3

    first = counts()
    call_command("seed_demo")
    assert counts() == first
