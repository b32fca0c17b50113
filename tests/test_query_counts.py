"""Every list page makes as many queries for 200 rows as for 10 (issue #8).

Each test fills a page with 10 rows, counts the queries of a request, grows it to 200 rows
and counts again; it also checks that the page really lists the new rows, so that an empty
page cannot pass. A page that runs queries per row is marked xfail(strict=True) with where
they come from, for the owner of the view to fix: the mark then fails once it is fixed.
"""

import random
import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities.models import Activity, Attendance, DuesAmount, DuesPayment
from alerts.models import Alert
from alerts.registry import registered_rules
from ledgers.models import CensusCampaign, ContactAttempt, LedgerExport, LedgerImport, LedgerRecord
from members import crypto
from members.demo import make_national_id
from members.models import (
    ExternalOrganisation,
    Member,
    Organisation,
    SensitiveAccess,
    StaffAssignment,
)
from transfers.models import (
    ActivityCertificate,
    MobilityEpisode,
    RelationshipTransfer,
    TransferEvent,
)

FEW, MANY = 10, 200
BRANCH = {"name": "村党支部", "kind": Organisation.Kind.BRANCH}
TODAY = date.today()
LITERAL = re.compile(r"'[^']*'|\b\d+\b")


def repeated(queries: list[dict]) -> str:
    """The queries that ran more than once, with their literals blanked: the per-row ones."""
    shapes = Counter(LITERAL.sub("?", q["sql"]) for q in queries)
    return "\n".join(f"{n}× {sql[:300]}" for sql, n in shapes.most_common() if n > 1)


def assert_constant(client, url: str, grow, shown) -> None:
    """grow(n) adds n rows to the page at url; shown(response) counts the rows it lists."""
    figures = []
    total = 0
    for rows in (FEW, MANY):
        grow(rows - total)
        total = rows
        client.get(url)  # first-request work (content types, the session) is not per row
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        figures.append((shown(response), len(captured), captured.captured_queries))
    (few_rows, few_queries, _), (many_rows, many_queries, queries) = figures
    assert few_rows == FEW, f"{url} lists {few_rows} rows, not {FEW}"
    assert many_rows > few_rows, f"{url} lists {many_rows} rows for {MANY}"
    assert many_queries == few_queries, (
        f"{url}: {few_queries} queries for {few_rows} rows, {many_queries} for {many_rows}\n"
        + repeated(queries)
    )


def paged(response) -> int:
    return len(response.context["page"].object_list)


class Rows:
    """Bulk builders for a County (tests/conftest.py): many rows, few queries."""

    def __init__(self, county):
        self.county = county
        self.rng = random.Random(8)
        self.made = 0

    def members(self, branch: Organisation, n: int, **fields) -> list[Member]:
        rows = []
        for _ in range(n):
            self.made += 1
            born = date(1960, 1, 1) + timedelta(days=self.made * 7)
            number = make_national_id(self.rng, born, True)
            values = {
                "name": f"张{self.made:04d}",
                "gender": Member.Gender.MALE,
                "birth_date": born,
                "national_id": number,
                "national_id_digest": crypto.digest(number),
                "phone": f"138{self.made:08d}",
                "joined_on": date(2010, 7, 1),
                "confirmed_on": date(2011, 7, 1),
                "home_branch": branch,
                **fields,
            }
            rows.append(Member(**values))
        return Member.objects.bulk_create(rows)

    def away(self, branch: Organisation, n: int, **episode) -> list[MobilityEpisode]:
        """n members of branch who left, with the usual records: contacts, a ledger record."""
        members = self.members(branch, n)
        episodes = MobilityEpisode.objects.bulk_create(
            MobilityEpisode(
                member=member,
                mobility_type=MobilityEpisode.Type.WORK,
                left_on=TODAY - timedelta(days=100),
                destination_province="广东省",
                destination_city="深圳市",
                occupation="工人",
                **episode,
            )
            for member in members
        )
        ContactAttempt.objects.bulk_create(
            ContactAttempt(
                member=member,
                on=TODAY - timedelta(days=days),
                channel="phone",
                reached=True,
                recorded_by=self.clerk,
            )
            for member in members
            for days in (10, 40)
        )
        LedgerRecord.objects.bulk_create(
            LedgerRecord(
                member=member,
                left_confirmed_on=TODAY,
                where_confirmed_on=TODAY,
                occupation_confirmed_on=TODAY,
                contact_confirmed_on=TODAY,
                conduct_confirmed_on=TODAY,
                conduct_assessment="good",
            )
            for member in members
        )
        return episodes

    @property
    def clerk(self):
        if not hasattr(self, "_clerk"):
            self._clerk = self.county.user("clerk", None, "")
        return self._clerk


@pytest.fixture
def rows(county) -> Rows:
    return Rows(county)


@pytest.fixture
def as_secretary(client, county):
    client.force_login(county.secretary(county.branch_a))
    return client


@pytest.fixture
def as_reviewer(client, county):
    user = county.reviewer(county.county)
    client.force_login(user)
    client.user = user
    return client


# --- members -----------------------------------------------------------------------------


def test_member_list(as_secretary, county, rows, settings):
    settings.MEMBER_LIST_PAGE_SIZE = 500  # all 200 on one page
    assert_constant(as_secretary, "/members/", lambda n: rows.members(county.branch_a, n), paged)


def test_member_search_by_name(as_reviewer, county, rows, settings):
    settings.MEMBER_LIST_PAGE_SIZE = 500
    assert_constant(
        as_reviewer, "/members/?q=张", lambda n: rows.members(county.branch_b, n), paged
    )


def test_alert_inbox(as_secretary, county, rows):
    codes = [rule.code for rule in registered_rules()]
    now = timezone.now()

    def grow(n):
        Alert.objects.bulk_create(
            Alert(
                member=member,
                kind=codes[i % len(codes)],
                severity=Alert.Severity.WARNING,
                opened_at=now,
                last_seen_at=now,
            )
            for i, member in enumerate(rows.members(county.branch_a, n))
        )

    assert_constant(as_secretary, "/alerts/", grow, paged)


def test_organisation_tree(as_reviewer, county):
    def grow(n):
        for _ in range(n):
            Organisation.objects.add_child(county.township_a, BRANCH)

    def shown(response):
        return len(response.context["organisations"]) - 6  # the County's own six

    assert_constant(as_reviewer, "/organisations/", grow, shown)


def test_organisation_detail(as_reviewer, county):
    def grow(n):
        for _ in range(n):
            Organisation.objects.add_child(county.township_a, BRANCH)

    assert_constant(
        as_reviewer,
        f"/organisations/{county.township_a.pk}/",
        grow,
        lambda response: len(response.context["children"]) - 2,
    )


def test_access_log(client, county, rows):
    admin = county.user("admin", county.county, StaffAssignment.Role.ADMINISTRATOR)
    client.force_login(admin)
    readers = [county.reviewer(county.county, "reader-1"), county.secretary(county.branch_a)]

    def grow(n):
        SensitiveAccess.objects.bulk_create(
            SensitiveAccess(
                user=readers[i % 2],
                member=member,
                action=SensitiveAccess.Action.REVEAL_NATIONAL_ID,
                ip_address="127.0.0.1",
            )
            for i, member in enumerate(rows.members(county.branch_a, n))
        )

    assert_constant(client, "/access-log/", grow, paged)


# --- mobility, ledgers, transfers -------------------------------------------------------


def test_mobile_list(as_secretary, county, rows):
    external = ExternalOrganisation.objects.create(name="深圳某公司党支部", region="深圳")

    def grow(n):
        # Some hosted by another branch, some by an outside organisation, some certified.
        episodes = rows.away(county.branch_a, n // 2, inflow_organisation=county.branch_b)
        episodes += rows.away(county.branch_a, n - n // 2, inflow_external=external)
        certificates(episodes[: n // 2], county)

    assert_constant(as_secretary, "/mobile/", grow, paged)


def certificates(episodes, county, **fields) -> None:
    ActivityCertificate.objects.bulk_create(
        ActivityCertificate(
            number=f"C{episode.pk:08d}",
            member_id=episode.member_id,
            episode=episode,
            issuing_branch=county.branch_a,
            stamping_committee=county.township_a,
            issued_on=TODAY - timedelta(days=30),
            reason="外出务工",
            destination="广东省深圳市",
            inflow_organisation=episode.inflow_organisation,
            inflow_external=episode.inflow_external,
            **fields,
        )
        for episode in episodes
    )


def test_outflow_ledger(as_secretary, county, rows):
    def grow(n):
        episodes = rows.away(county.branch_a, n, inflow_organisation=county.branch_b)
        certificates(episodes[::2], county)

    assert_constant(as_secretary, "/ledger/?side=outflow", grow, paged)


def test_inflow_ledger(client, county, rows):
    client.force_login(county.secretary(county.branch_b))
    assert_constant(
        client,
        "/ledger/?side=inflow",
        lambda n: rows.away(county.branch_a, n, inflow_organisation=county.branch_b),
        paged,
    )


def test_transfer_list(as_reviewer, county, rows):
    external = ExternalOrganisation.objects.create(name="外县某党委", region="外县")
    states = [
        RelationshipTransfer.State.SUBMITTED,  # the reviewer's "to decide"
        RelationshipTransfer.State.APPROVED,  # "to accept" on the receiving side
        RelationshipTransfer.State.COMPLETED,
    ]

    def grow(n):
        members = rows.members(county.branch_a, n)
        RelationshipTransfer.objects.bulk_create(
            RelationshipTransfer(
                member=member,
                from_branch=county.branch_a,
                to_organisation=county.branch_b if i % 2 else None,
                to_external=None if i % 2 else external,
                reason="工作调动",
                state=states[i % len(states)],
                requested_by=as_reviewer.user,
            )
            for i, member in enumerate(members)
        )

    assert_constant(as_reviewer, "/transfers/", grow, paged)


def test_census_campaign_list(as_reviewer, county):
    def grow(n):
        CensusCampaign.objects.bulk_create(
            CensusCampaign(
                organisation=county.county if i % 2 else county.township_a,
                name=f"普查{i}",
                starts_on=TODAY - timedelta(days=10),
                ends_on=TODAY + timedelta(days=20),
                opened_by=as_reviewer.user,
            )
            for i in range(n)
        )

    assert_constant(
        as_reviewer, "/campaigns/", grow, lambda response: len(response.context["campaigns"])
    )


def test_census_campaign_detail(as_reviewer, county, rows):
    campaign = CensusCampaign.objects.create(
        organisation=county.county,
        name="年度普查",
        starts_on=TODAY - timedelta(days=10),
        ends_on=TODAY + timedelta(days=20),
        opened_by=as_reviewer.user,
    )

    def grow(n):
        rows.away(county.branch_a, n // 2)
        rows.away(county.branch_b, n - n // 2)

    assert_constant(
        as_reviewer,
        f"/campaigns/{campaign.pk}/",
        grow,
        lambda response: len(response.context["checklist"]),
    )


def test_import_and_export_history(client, county):
    user = county.secretary(county.branch_a)
    client.force_login(user)

    def grow(n):
        LedgerImport.objects.bulk_create(
            LedgerImport(
                user=user,
                branch=county.branch_a,
                file_name=f"台账{i}.xlsx",
                file_sha256=f"{i:064x}",
                status=LedgerImport.Status.APPLIED,
                rows_total=10,
            )
            for i in range(n)
        )
        LedgerExport.objects.bulk_create(
            LedgerExport(user=user, file_format="xlsx", status=LedgerExport.Status.READY)
            for _ in range(n)
        )

    assert_constant(
        client, "/ledger/jobs/", grow, lambda response: len(response.context["imports"])
    )


# --- organisational life and dues -------------------------------------------------------


def test_activity_list(as_secretary, county, rows):
    members = rows.members(county.branch_a, 5)
    kinds = Activity.Kind.values
    first = date(TODAY.year, 1, 1)
    days = (TODAY - first).days + 1

    def grow(n):
        activities = Activity.objects.bulk_create(
            Activity(
                branch=county.branch_a,
                kind=kinds[i % len(kinds)],
                held_on=first + timedelta(days=i % days),
                title=f"活动{i}",
                recorded_by=rows.clerk,
            )
            for i in range(n)
        )
        Attendance.objects.bulk_create(
            Attendance(activity=activity, member=member, status=Attendance.Status.PRESENT)
            for activity in activities
            for member in members
        )

    assert_constant(
        as_secretary,
        f"/activities/?branch={county.branch_a.pk}",
        grow,
        lambda response: len(response.context["activities"]),
    )


def test_dues_ledger(as_secretary, county, rows):
    def grow(n):
        members = rows.members(county.branch_a, n)
        DuesAmount.objects.bulk_create(
            DuesAmount(
                member=member,
                year=TODAY.year,
                basis="income",
                monthly_income=Decimal("5000"),
                monthly_amount=Decimal("25.00"),
                set_by=rows.clerk,
            )
            for member in members
        )
        DuesPayment.objects.bulk_create(
            DuesPayment(
                member=member,
                from_month=date(TODAY.year, 1, 1),
                to_month=date(TODAY.year, 3, 1),
                amount=Decimal("75.00"),
                paid_to=county.branch_a,
                paid_on=date(TODAY.year, 3, 5),
                method="wechat",
                recorded_by=rows.clerk,
            )
            for member in members
        )

    assert_constant(
        as_secretary,
        f"/dues/?branch={county.branch_a.pk}&year={TODAY.year}",
        grow,
        lambda response: len(response.context["rows"]),
    )


# --- the dashboard's table of units -----------------------------------------------------


def test_dashboard_unit_table(as_reviewer, county, rows):
    def grow(n):
        for _ in range(n):
            branch = Organisation.objects.add_child(county.township_a, BRANCH)
            rows.away(branch, 1)

    assert_constant(
        as_reviewer,
        f"/dashboard/?org={county.township_a.pk}",
        grow,
        lambda response: len(response.context["units"]) - 2,
    )


# --- the member page's lists (capped, but each row must not cost a query) ------------------


def test_member_detail_lists(as_secretary, county, rows):
    member = rows.members(county.branch_a, 1)[0]
    external = ExternalOrganisation.objects.create(name="外县某党委", region="外县")

    def grow(n):
        episodes = MobilityEpisode.objects.bulk_create(
            MobilityEpisode(
                member=member,
                mobility_type=MobilityEpisode.Type.WORK,
                left_on=TODAY - timedelta(days=1000 + i),
                ended_on=TODAY - timedelta(days=900 + i),
                employer="某雇主公司",
                inflow_organisation=county.branch_b if i % 2 else None,
                inflow_external=None if i % 2 else external,
            )
            for i in range(n)
        )
        certificates(episodes, county, status=ActivityCertificate.Status.RETURNED)
        transfers = RelationshipTransfer.objects.bulk_create(
            RelationshipTransfer(
                member=member,
                from_branch=county.branch_a,
                to_organisation=county.branch_b,
                reason="工作调动",
                state=RelationshipTransfer.State.CANCELLED,
                requested_by=rows.clerk,
            )
            for _ in range(n)
        )
        TransferEvent.objects.bulk_create(
            TransferEvent(transfer=transfer, action=TransferEvent.Action.DRAFTED, actor=rows.clerk)
            for transfer in transfers
        )
        ContactAttempt.objects.bulk_create(
            ContactAttempt(
                member=member, on=TODAY, channel="phone", reached=True, recorded_by=rows.clerk
            )
            for _ in range(n)
        )
        DuesPayment.objects.bulk_create(
            DuesPayment(
                member=member,
                from_month=date(2020, 1, 1),
                to_month=date(2020, 1, 1),
                amount=Decimal("1.00"),
                paid_to=county.branch_a,
                paid_on=date(2020, 1, 5),
                method="cash",
                recorded_by=rows.clerk,
            )
            for _ in range(n)
        )

    assert_constant(
        as_secretary,
        f"/members/{member.pk}/",
        grow,
        lambda response: response.content.decode().count("某雇主公司"),
    )
