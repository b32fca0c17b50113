"""The JSON API at /api/v1/ (issue #20): tokens, scoping like the client's user, masked ID
numbers, cursor pages, rate limits, the access log and constant queries per list."""

import itertools
import json
import random
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from alerts.models import Alert
from api.models import ApiCall, ApiClient, ApiToken, Scope
from api.services import issue_token
from members.models import Member
from tests.conftest import County
from transfers.models import ActivityCertificate, MobilityEpisode, RelationshipTransfer

TODAY = date.today()
_numbers = itertools.count(1)


def make_client(user, *, name: str, scopes=None) -> tuple[ApiClient, str]:
    """An API client acting as `user`, with a fresh token."""
    client = ApiClient.objects.create(
        name=name,
        kind=ApiClient.Kind.PARTNER,
        user=user,
        scopes=list(Scope.values) if scopes is None else scopes,
    )
    return client, issue_token(client=client)


def member_with_everything(county: County, branch, **fields) -> Member:
    """A member away now, with a certificate, an open transfer and an open alert."""
    member = county.member(branch, name=fields.pop("name", f"成员{next(_numbers)}"), **fields)
    episode = MobilityEpisode.objects.create(
        member=member,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=TODAY - timedelta(days=60),
        destination_province="广东省",
        destination_city="深圳市",
    )
    ActivityCertificate.objects.create(
        number=f"API-{next(_numbers)}",
        member=member,
        episode=episode,
        issuing_branch=branch,
        stamping_committee=county.township_a,
        issued_on=TODAY - timedelta(days=50),
        reason="务工",
        destination="广东省深圳市",
    )
    RelationshipTransfer.objects.create(
        member=member,
        from_branch=branch,
        to_organisation=county.branch_b,
        reason="工作调动",
        state=RelationshipTransfer.State.SUBMITTED,
        requested_by=county.secretary(branch, f"req-{next(_numbers)}"),
    )
    now = timezone.now()
    Alert.objects.create(
        member=member,
        kind="no_life_6_months",
        severity=Alert.Severity.WARNING,
        opened_at=now,
        last_seen_at=now,
    )
    return member


class Partners:
    """Two counties, each read by its partner's client; one client of county A without scopes."""

    def __init__(self):
        self.a = County()
        self.b = County()
        self.b._rng = random.Random(8)  # other ID numbers than county A's
        self.member = member_with_everything(self.a, self.a.branch_a, name="甲成员")
        self.other_member = member_with_everything(self.b, self.b.branch_a, name="乙成员")
        self.client_a, self.token_a = make_client(
            self.a.reviewer(self.a.county, "partner-a"), name="A"
        )
        self.client_b, self.token_b = make_client(
            self.b.reviewer(self.b.county, "partner-b"), name="B"
        )
        self.client_none, self.token_none = make_client(
            self.a.reviewer(self.a.county, "partner-none"), name="none", scopes=[]
        )


@pytest.fixture
def partners(db) -> Partners:
    cache.clear()  # the rate limit's counts
    return Partners()


def get(client, url: str, token: str | None = None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(url, **headers, **extra)


def test_members_are_those_of_the_clients_user_with_a_masked_id_number(client, partners):
    response = get(client, "/api/v1/members", partners.token_a)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [partners.member.pk]
    number = partners.member.national_id
    assert rows[0]["national_id_masked"] == partners.member.national_id_masked
    assert rows[0]["held_here"] is True
    assert number not in response.content.decode()
    assert number[6:14] not in response.content.decode()  # not even the birth date

    detail = get(client, f"/api/v1/members/{partners.member.pk}", partners.token_a)
    assert detail.status_code == 200
    assert detail.json()["home_branch"]["id"] == partners.a.branch_a.pk
    assert number not in detail.content.decode()


def test_a_hosting_side_sees_the_last_four_characters_only(client, partners):
    a = partners.a
    episode = partners.member.mobility_episodes.get()
    episode.inflow_organisation = a.branch_b
    episode.save()
    _client, token = make_client(a.secretary(a.branch_b, "host"), name="host")
    row = get(client, f"/api/v1/members/{partners.member.pk}", token).json()
    assert row["held_here"] is False
    assert row["national_id_masked"] == partners.member.national_id_tail
    assert row["national_id_masked"][:6] == "******"


def test_no_token_an_unknown_token_and_a_revoked_token_are_401(client, partners):
    assert get(client, "/api/v1/members").status_code == 401
    assert get(client, "/api/v1/members", "ld_not-a-token").status_code == 401
    answer = get(client, "/api/v1/members", "ld_not-a-token").json()
    assert answer["detail"] == gettext("A valid API token is required.")  # zh-hans once merged
    old = partners.token_a
    new = issue_token(client=partners.client_a)
    assert get(client, "/api/v1/members", old).status_code == 401
    assert get(client, "/api/v1/members", new).status_code == 200


def test_an_inactive_client_or_user_is_401(client, partners):
    partners.client_a.is_active = False
    partners.client_a.save()
    assert get(client, "/api/v1/members", partners.token_a).status_code == 401
    partners.client_b.user.is_active = False
    partners.client_b.user.save()
    assert get(client, "/api/v1/members", partners.token_b).status_code == 401


def test_tokens_are_kept_as_digests_only(partners):
    stored = ApiToken.objects.get(client=partners.client_a, revoked_at__isnull=True)
    assert partners.token_a not in (stored.digest, stored.prefix)
    assert partners.token_a.startswith(stored.prefix)
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, prefix FROM api_apitoken")
        assert all(partners.token_a not in value for row in cursor for value in row)


def test_the_management_command_issues_a_working_token(client, partners, capsys):
    call_command("api_token", "B")
    token = capsys.readouterr().out.strip()
    assert get(client, "/api/v1/members", token).status_code == 200
    assert get(client, "/api/v1/members", partners.token_b).status_code == 401


def test_the_admin_action_shows_a_new_token_once(client, partners, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="correct-horse-battery")
    client.force_login(admin)
    response = client.post(
        reverse("admin:api_apiclient_changelist"),
        {"action": "issue_tokens", "_selected_action": [partners.client_b.pk]},
    )
    assert response.status_code == 200
    token = response.context["issued"][0][1]
    assert token in response.content.decode()
    assert ApiToken.objects.get(client=partners.client_b, revoked_at__isnull=True).created_by == (
        admin
    )
    client.logout()
    assert get(client, "/api/v1/members", token).status_code == 200
    assert get(client, "/api/v1/members", partners.token_b).status_code == 401


def test_cursor_pages_list_every_row_once_in_order(client, partners):
    a = partners.a
    for n in range(6):
        a.member(a.branch_a2, name=f"翻页{n}")
    expected = sorted(
        Member.objects.filter(home_branch__path__startswith=a.county.path).values_list(
            "pk", flat=True
        )
    )
    seen, url, pages = [], "/api/v1/members?page_size=3", 0
    while url:
        page = get(client, url, partners.token_a).json()
        seen += [row["id"] for row in page["results"]]
        url, pages = page["next"], pages + 1
    assert seen == expected
    assert pages == 3  # 7 members in pages of 3


def test_a_page_is_at_most_200_rows(client, partners):
    answer = get(client, "/api/v1/members?page_size=100000", partners.token_a)
    assert answer.status_code == 200
    from api.pagination import IdCursor

    assert IdCursor()._get_page_size(100000) == 200


def test_a_forged_cursor_shows_nothing_outside_the_scope(client, partners):
    from ninja.pagination import CursorPagination

    cursor = CursorPagination.Cursor(p="0").encode_as_param()
    rows = get(client, f"/api/v1/members?cursor={cursor}", partners.token_a).json()["results"]
    assert [row["id"] for row in rows] == [partners.member.pk]


def test_filters_narrow_the_lists(client, partners):
    partners.member.status = Member.Status.SUSPENDED
    partners.member.save()
    active = get(client, "/api/v1/members?status=active", partners.token_a).json()["results"]
    assert active == []
    episodes = get(client, "/api/v1/episodes?current=false", partners.token_a).json()
    assert episodes["results"] == []
    current = get(client, "/api/v1/episodes?current=true", partners.token_a).json()["results"]
    assert [row["member"]["id"] for row in current] == [partners.member.pk]


def test_every_call_is_in_the_access_log(client, partners):
    get(client, "/api/v1/members", REMOTE_ADDR="203.0.113.9")
    get(client, "/api/v1/members", partners.token_none, REMOTE_ADDR="203.0.113.9")
    get(client, f"/api/v1/members/{partners.other_member.pk}", partners.token_a)
    get(client, "/api/v1/alerts?x=1", partners.token_a)
    calls = list(ApiCall.objects.order_by("id"))
    assert [(c.client, c.status) for c in calls] == [
        (None, 401),
        (partners.client_none, 403),
        (partners.client_a, 404),
        (partners.client_a, 200),
    ]
    assert calls[0].ip_address == "203.0.113.9"
    assert calls[2].path == f"/api/v1/members/{partners.other_member.pk}"
    assert (calls[3].method, calls[3].query) == ("GET", "x=1")
    partners.client_a.refresh_from_db()
    assert partners.client_a.last_used_at is not None


def test_the_rate_limit_counts_per_token(client, partners, settings):
    settings.API_RATE = "3/min"
    answers = [get(client, "/api/v1/members", partners.token_a).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = get(client, "/api/v1/members", partners.token_a)
    assert refused.json()["detail"] == gettext("Too many API calls; try again shortly.")
    assert int(refused["Retry-After"]) > 0
    assert get(client, "/api/v1/members", partners.token_b).status_code == 200
    assert ApiCall.objects.filter(client=partners.client_a, status=429).count() == 2


def test_figures_are_the_dashboards_for_the_scope(client, partners):
    answer = get(client, "/api/v1/figures", partners.token_a)
    assert answer.status_code == 200
    figures = answer.json()
    assert figures["organisation"]["id"] == partners.a.county.pk
    assert (figures["members"], figures["mobile"], figures["alerts"]) == (1, 1, 1)
    assert figures["transfers_submitted"] == 1
    township = get(client, f"/api/v1/figures/{partners.a.township_b.pk}", partners.token_a)
    assert (township.status_code, township.json()["members"]) == (200, 0)
    other = get(client, f"/api/v1/figures/{partners.b.county.pk}", partners.token_a)
    assert other.status_code == 404


def test_a_client_whose_user_has_no_assignment_sees_nothing(client, partners, django_user_model):
    _client, token = make_client(django_user_model.objects.create_user("nobody"), name="x")
    assert get(client, "/api/v1/members", token).json()["results"] == []
    assert get(client, f"/api/v1/members/{partners.member.pk}", token).status_code == 404
    assert get(client, "/api/v1/figures", token).status_code == 404


LISTS = ["/api/v1/members", "/api/v1/episodes", "/api/v1/certificates", "/api/v1/transfers"]


@pytest.mark.parametrize("url", [*LISTS, "/api/v1/alerts"])
def test_a_list_makes_as_many_queries_for_20_rows_as_for_1(client, partners, url):
    counts = []
    for rows in (1, 20):
        while Member.objects.filter(home_branch=partners.a.branch_a).count() < rows:
            member_with_everything(partners.a, partners.a.branch_a)
        get(client, url, partners.token_a)
        with CaptureQueriesContext(connection) as captured:
            answer = get(client, url, partners.token_a)
        assert len(answer.json()["results"]) == rows
        counts.append(len(captured))
    assert counts[0] == counts[1], captured.captured_queries


def test_the_docs_page_loads_nothing_from_elsewhere(client, db):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    settings = json.loads(page.context["swagger_settings"])
    assert settings["validatorUrl"] is None  # not validator.swagger.io
    assert settings["url"] == "/api/v1/openapi.json"
