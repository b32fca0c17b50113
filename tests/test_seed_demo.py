from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from members import national_id
from members.demo import DEMO_USERS
from members.models import ExternalOrganisation, Member, Organisation, StaffAssignment
from members.selectors import members_visible_to
from transfers.models import MobilityEpisode


def counts():
    return (
        Organisation.objects.count(),
        Member.objects.count(),
        ExternalOrganisation.objects.count(),
        MobilityEpisode.objects.count(),
        StaffAssignment.objects.count(),
    )


def test_seed_demo_builds_a_believable_county_and_is_idempotent(db, settings):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first

    organisations, members, external, _, assignments = first
    assert members == 1500
    assert external >= 5
    assert assignments == len(DEMO_USERS)
    assert Organisation.objects.filter(kind=Organisation.Kind.COMMITTEE).count() == 10
    assert 55 <= Organisation.objects.filter(kind=Organisation.Kind.BRANCH).count() <= 65
    current = MobilityEpisode.objects.filter(ended_on__isnull=True).count()
    assert 0.25 <= current / members <= 0.35
    provinces = set(MobilityEpisode.objects.values_list("destination_province", flat=True))
    assert len(provinces - {""}) >= 5
    for member in Member.objects.all()[:200]:
        assert national_id.validate(member.national_id) == member.national_id
        assert national_id.birth_date_of(member.national_id) == member.birth_date


def test_demo_logins_work_and_are_scoped(db, settings):
    call_command("seed_demo")
    request = RequestFactory().post("/accounts/login/")
    secretary = authenticate(request, username="secretary", password=settings.DEMO_PASSWORD)
    reviewer = authenticate(request, username="reviewer", password=settings.DEMO_PASSWORD)
    assert secretary and reviewer
    assert 0 < members_visible_to(secretary).count() < members_visible_to(reviewer).count()
    assert members_visible_to(reviewer).count() == Member.objects.count()


def test_if_empty_leaves_an_existing_database_alone(county):
    call_command("seed_demo", "--if-empty")
    assert not Member.objects.exists()
    assert Organisation.objects.count() == 6


def test_the_demo_shows_each_record_the_rules_follow(db):
    """Issue #14: reasons, a suspension with removal due, correction terms (one ended with the
    condition still there), in the demo secretary's branch."""
    from activities.models import GoodReason
    from alerts.models import Alert
    from members.demo import SECRETARY_BRANCH
    from members.models import CorrectionTerm, MembershipDecision

    call_command("seed_demo")
    branch = Organisation.objects.get(name=SECRETARY_BRANCH)
    mine = {"member__home_branch": branch}
    assert set(GoodReason.objects.filter(**mine).values_list("kind", flat=True)) == {
        "excused_absence",
        "illness",
        "abroad_paused",
    }
    suspension = MembershipDecision.objects.get(**mine, kind="suspension")
    assert suspension.member.status == Member.Status.SUSPENDED
    assert Alert.objects.filter(member=suspension.member, kind="removal_due", closed_at=None)
    assert CorrectionTerm.objects.filter(**mine).count() == 2
    # Issue #17: the self-report flow can be tried from the browser.
    from ledgers.models import SelfReport

    assert SelfReport.objects.filter(**mine, status="pending").count() == 1
    assert Member.objects.filter(home_branch=branch, email__endswith="@example.org").count() == 3


def test_the_demos_correction_terms_stay_open_one_ended(db):
    from alerts.models import Alert
    from members.demo import SECRETARY_BRANCH
    from members.models import CorrectionTerm

    call_command("seed_demo")
    mine = {"member__home_branch": Organisation.objects.get(name=SECRETARY_BRANCH)}
    assert CorrectionTerm.objects.filter(**mine, closed_on=None).count() == 2
    assert Alert.objects.filter(**mine, kind="correction_term_ended", closed_at=None).count() == 1


def _what_the_demo_shows():
    """Who is away, silent, suspended, under a correction term or alerted, by name."""
    from alerts.models import Alert
    from ledgers.models import LedgerRecord
    from members.models import CorrectionTerm

    return {
        "members": sorted(Member.objects.values_list("name", "status")),
        "ledger": sorted(LedgerRecord.objects.values_list("member__name", "conduct_assessment")),
        "terms": sorted(CorrectionTerm.objects.values_list("member__name", "condition")),
        "alerts": sorted(Alert.objects.filter(closed_at=None).values_list("member__name", "kind")),
    }


def test_the_demo_is_the_same_whatever_order_the_database_returns_unordered_rows(db, monkeypatch):
    """PostgreSQL returns rows without ORDER BY in whatever order its pages hold them, which
    changes with what the database went through before (in the whole suite, the demo's
    correction terms went to other members). The seeded demo must not depend on it: built
    again with every unordered query's rows reversed, it shows the same members the same."""
    from django.db import transaction
    from django.db.models.query import QuerySet

    with transaction.atomic():
        call_command("seed_demo")
        as_stored = _what_the_demo_shows()
        transaction.set_rollback(True)
    assert not Member.objects.exists()

    fetch_all = QuerySet._fetch_all

    def reversed_when_unordered(queryset):
        fetched = queryset._result_cache is not None
        fetch_all(queryset)
        if not fetched and not queryset.ordered:
            queryset._result_cache.reverse()

    monkeypatch.setattr(QuerySet, "_fetch_all", reversed_when_unordered)
    call_command("seed_demo")
    assert _what_the_demo_shows() == as_stored
