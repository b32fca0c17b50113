"""The transfer, certificate and abroad rules, counted as the Civil Code counts periods.

Every boundary is tried on both sides (the day before the condition starts and the day it
starts), through the Python predicate `period_over` and through the rule's SQL query, with
month ends and 29 February among the cases. Then the records behind the rules: the day a
letter was received, the purpose of a stay abroad, a transfer that cannot be made for now.
"""

from datetime import date, timedelta
from io import BytesIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from pypdf import PdfReader

from alerts.registry import rule_for
from infrastructure.steps import StepRefused
from members.models import ExternalOrganisation, Member
from members.periods import months_after, period_over
from transfers import rules, services
from transfers.classification import Arrangement, Thresholds, classify
from transfers.forms import EpisodeForm, TransferDeferForm
from transfers.models import (
    ActivityCertificate,
    CertificateReview,
    IntroductionLetter,
    MobilityEpisode,
    RelationshipTransfer,
    TransferEvent,
)
from transfers.pdf import HOLDER_RIGHTS, certificate_pdf
from transfers.selectors import arrangement_expression, episode_facts
from transfers.views import HOLDER_RIGHTS as HOLDER_RIGHTS_TEXT

TODAY = timezone.localdate()
DAY = timedelta(days=1)


def pdf_text(data: bytes) -> str:
    """The page's text without line breaks or spaces (a wrapped line joins up again)."""
    return "".join(PdfReader(BytesIO(data)).pages[0].extract_text().split())


def flagged(rule, member: Member, today: date) -> bool:
    return rule(today).filter(pk=member.pk).exists()


def assert_starts_on(rule, member: Member, first: date) -> None:
    """Not flagged the day before `first`, flagged on `first`."""
    assert not flagged(rule, member, first - DAY), f"flagged on {first - DAY}"
    assert flagged(rule, member, first), f"not flagged on {first}"


@pytest.fixture
def people(county):
    county.county.code = "511925"
    county.county.save()
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_a2 = county.secretary(county.branch_a2, "sec_a2")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.rev_a = county.reviewer(county.township_a, "rev_a")
    county.external = ExternalOrganisation.objects.create(
        name="深圳某党支部", region="广东省深圳市"
    )
    return county


def away(people, left_on: date, **fields) -> MobilityEpisode:
    values = {
        "member": people.member(people.branch_a, name="外出党员"),
        "mobility_type": "work",
        "left_on": left_on,
        "destination_province": "广东省",
        "destination_city": "深圳市",
        "is_fixed_place": True,
    }
    values.update(fields)
    return MobilityEpisode.objects.create(**values)


# --- transfer required (Reg. art. 25), with 暂时无法转移 --------------------------------------

# (left on, first day the six months are over): the period ends on the corresponding day, or
# on the month's last day where there is none, and the rule holds from the day after.
SIX_MONTHS = [
    (date(2026, 1, 15), date(2026, 7, 16)),
    (date(2025, 8, 31), date(2026, 3, 1)),  # ends 28 February
    (date(2023, 8, 31), date(2024, 3, 1)),  # ends 29 February
    (date(2023, 8, 29), date(2024, 3, 1)),  # ends 29 February
    (date(2023, 8, 28), date(2024, 2, 29)),  # ends 28 February, a leap year
    (date(2024, 2, 29), date(2024, 8, 30)),  # starts on 29 February
    (date(2025, 12, 31), date(2026, 7, 1)),  # ends 30 June
]


@pytest.mark.parametrize(("left_on", "first"), SIX_MONTHS)
def test_transfer_required_from_the_day_after_six_months(people, settings, left_on, first):
    settings.TRANSFER_AFTER_MONTHS = 6
    assert not period_over(left_on, 6, today=first - DAY)
    assert period_over(left_on, 6, today=first)
    episode = away(people, left_on)
    assert_starts_on(rules.transfer_required_not_started, episode.member, first)
    # The member page (Python) and the lists (SQL) agree on both days.
    for today in (first - DAY, first):
        in_python = classify(
            episode=episode_facts(episode), member_active=True, today=today
        ).arrangement
        in_sql = (
            MobilityEpisode.objects.annotate(arrangement=arrangement_expression(today=today))
            .get(pk=episode.pk)
            .arrangement
        )
        assert in_python == in_sql


def test_the_transfer_threshold_is_read_when_the_rule_runs(people, settings):
    episode = away(people, date(2026, 1, 31))
    settings.TRANSFER_AFTER_MONTHS = 3  # ends 30 April
    assert_starts_on(rules.transfer_required_not_started, episode.member, date(2026, 5, 1))
    settings.TRANSFER_AFTER_MONTHS = 6  # ends 31 July
    assert_starts_on(rules.transfer_required_not_started, episode.member, date(2026, 8, 1))


def test_no_alert_while_a_transfer_is_deferred_and_it_comes_back_after(people):
    episode = away(people, date(2025, 1, 10))
    until = date(2026, 2, 28)
    episode.transfer_deferred_reason = MobilityEpisode.DeferredReason.SHORT_CONTRACT
    episode.transfer_deferred_until = until
    episode.save()
    member = episode.member
    assert not flagged(rules.transfer_required_not_started, member, until - DAY)
    assert not flagged(rules.transfer_required_not_started, member, until)
    assert flagged(rules.transfer_required_not_started, member, until + DAY)
    for today, expected in [
        (until, Arrangement.CERTIFICATE),
        (until + DAY, Arrangement.TRANSFER_REQUIRED),
    ]:
        result = classify(episode=episode_facts(episode), member_active=True, today=today)
        in_sql = (
            MobilityEpisode.objects.annotate(arrangement=arrangement_expression(today=today))
            .get(pk=episode.pk)
            .arrangement
        )
        assert result.arrangement == in_sql == expected
    with translation.override("en"):
        deferred = classify(episode=episode_facts(episode), member_active=True, today=until)
    assert "Short-term contract" in deferred.explanation and "2026-02-28" in deferred.explanation


def test_an_open_transfer_keeps_the_rule_quiet(people):
    episode = away(people, date(2025, 1, 10))
    services.transfer_draft(
        actor=people.sec_a, member=episode.member, reason="r", to_external=people.external
    )
    assert not flagged(rules.transfer_required_not_started, episode.member, TODAY)


# --- certificate review (年审) ------------------------------------------------------------------


def certificate(people, issued_on: date) -> ActivityCertificate:
    return ActivityCertificate.objects.create(
        number=f"C{issued_on:%Y%m%d}",
        member=people.member(people.branch_a, name="持证党员"),
        issuing_branch=people.branch_a,
        stamping_committee=people.township_a,
        issued_on=issued_on,
        reason="务工",
        destination="广东省深圳市",
    )


@pytest.mark.parametrize(
    ("issued_on", "first"),
    [
        (date(2025, 3, 2), date(2026, 3, 3)),
        (date(2024, 2, 29), date(2025, 3, 1)),  # the year ends on 28 February
        (date(2023, 3, 1), date(2024, 3, 2)),
        (date(2025, 12, 31), date(2027, 1, 1)),
    ],
)
def test_certificate_review_due_the_day_after_the_year(people, settings, issued_on, first):
    settings.CERTIFICATE_REVIEW_MONTHS = 12
    assert not period_over(issued_on, 12, today=first - DAY)
    assert period_over(issued_on, 12, today=first)
    cert = certificate(people, issued_on)
    assert_starts_on(rules.certificate_review_due, cert.member, first)


def test_certificate_review_counts_from_the_last_review(people):
    cert = certificate(people, date(2023, 5, 1))
    CertificateReview.objects.create(
        certificate=cert, year=2024, reviewed_on=date(2024, 2, 29), result="passed"
    )
    assert_starts_on(rules.certificate_review_due, cert.member, date(2025, 3, 1))


# --- introduction letters -------------------------------------------------------------------


def letter(
    people,
    *,
    issued_on: date,
    valid_days: int = 30,
    received_on: date | None = None,
    returned_on: date | None = None,
    transfer_state: str = RelationshipTransfer.State.APPROVED,
    letter_state: str = IntroductionLetter.State.ISSUED,
) -> IntroductionLetter:
    member = people.member(people.branch_a, name="转出党员")
    transfer = RelationshipTransfer.objects.create(
        member=member,
        from_branch=people.branch_a,
        to_external=people.external,
        reason="定居",
        state=transfer_state,
        requested_by=people.sec_a,
    )
    return IntroductionLetter.objects.create(
        transfer=transfer,
        number=f"L{IntroductionLetter.objects.count() + 1}",
        issued_on=issued_on,
        valid_days=valid_days,
        expires_on=issued_on + timedelta(days=valid_days),
        dues_paid_until=issued_on.replace(day=1),
        state=letter_state,
        received_on=received_on,
        receipt_due_on=months_after(received_on, 1) if received_on else None,
        receipt_returned_on=returned_on,
    )


# (received on, first day the receipt is overdue): one month after receiving.
RECEIPT_MONTH = [
    (date(2026, 5, 15), date(2026, 6, 16)),
    (date(2026, 1, 31), date(2026, 3, 1)),  # ends 28 February
    (date(2024, 1, 31), date(2024, 3, 1)),  # ends 29 February
    (date(2024, 2, 29), date(2024, 3, 30)),
    (date(2026, 3, 31), date(2026, 5, 1)),  # ends 30 April
]


@pytest.mark.parametrize(("received_on", "first"), RECEIPT_MONTH)
def test_receipt_overdue_one_month_after_the_letter_was_received(
    people, settings, received_on, first
):
    settings.RECEIPT_DUE_MONTHS = 1
    assert not period_over(received_on, 1, today=first - DAY)
    assert period_over(received_on, 1, today=first)
    sent = letter(people, issued_on=received_on - timedelta(days=3), received_on=received_on)
    assert_starts_on(rules.receipt_overdue, sent.transfer.member, first)
    assert sent.receipt_due_on == first - DAY  # the last day to return it


def test_an_unused_90_day_letter_is_not_receipt_overdue(people):
    issued = date(2026, 3, 1)
    unused = letter(people, issued_on=issued, valid_days=90)
    member = unused.transfer.member
    for today in (issued + timedelta(days=32), issued + timedelta(days=90)):
        assert not flagged(rules.receipt_overdue, member, today)
        assert not flagged(rules.letter_expired, member, today)
    # Expired unused: its own case, from the day after its last valid day.
    assert_starts_on(rules.letter_expired, member, unused.expires_on + DAY)
    assert not flagged(rules.receipt_overdue, member, unused.expires_on + timedelta(days=60))


def test_a_received_letter_is_neither_expiring_nor_expired(people):
    received = letter(people, issued_on=date(2026, 3, 1), received_on=date(2026, 3, 20))
    member = received.transfer.member
    assert not flagged(rules.letter_expiring, member, received.expires_on - DAY)
    assert not flagged(rules.letter_expired, member, received.expires_on + DAY)
    unused = letter(people, issued_on=date(2026, 3, 1))
    assert flagged(rules.letter_expiring, unused.transfer.member, unused.expires_on - DAY)


def test_receipt_rule_covers_the_states_a_received_letter_can_be_in(people):
    received_on = date(2026, 1, 10)
    later = date(2026, 6, 1)
    completed = letter(
        people,
        issued_on=date(2026, 1, 5),
        received_on=received_on,
        transfer_state=RelationshipTransfer.State.COMPLETED,
        letter_state=IntroductionLetter.State.USED,
    )
    assert flagged(rules.receipt_overdue, completed.transfer.member, later)
    returned = letter(
        people, issued_on=date(2026, 1, 5), received_on=received_on, returned_on=date(2026, 2, 1)
    )
    assert not flagged(rules.receipt_overdue, returned.transfer.member, later)
    superseded = letter(
        people,
        issued_on=date(2026, 1, 5),
        received_on=received_on,
        letter_state=IntroductionLetter.State.SUPERSEDED,
    )
    assert not flagged(rules.receipt_overdue, superseded.transfer.member, later)


def test_the_letter_rules_say_what_they_are():
    with translation.override("en"):
        expired = rule_for("letter_expired")
        assert str(expired.title) == "Introduction letter expired unused"
        receipt = rule_for("receipt_overdue")
        assert "received" in str(receipt.explanation)
        for code in (
            "transfer_required_not_started",
            "certificate_review_due",
            "letter_expiring",
            "letter_expired",
            "receipt_overdue",
            "abroad_five_years",
            "graduate_retention_ending",
        ):
            found = rule_for(code)
            assert str(found.source) and str(found.explanation) and str(found.first_step), code
        assert "Article 24" in str(rule_for("abroad_five_years").source)
        assert "Article 25" in str(rule_for("transfer_required_not_started").source)


# --- recording that the letter was received ---------------------------------------------------


def approved_transfer(people, *, issued_on=TODAY, days=30, **destination):
    member = people.member(people.branch_a, name="转接党员")
    destination = destination or {"to_external": people.external}
    transfer = services.transfer_draft(
        actor=people.sec_a, member=member, reason="在外地定居", **destination
    )
    services.transfer_submit(actor=people.sec_a, transfer=transfer)
    services.transfer_approve(
        actor=people.rev_a,
        transfer=transfer,
        issued_on=issued_on,
        valid_days=days,
        dues_paid_until=issued_on,
    )
    return transfer


def test_issuing_sets_no_receipt_date_and_receiving_does(people, settings):
    settings.RECEIPT_DUE_MONTHS = 1
    transfer = approved_transfer(people, issued_on=TODAY - timedelta(days=40), days=60)
    issued = transfer.letters.get()
    assert issued.received_on is None and issued.receipt_due_on is None
    received_on = TODAY - timedelta(days=35)
    services.letter_record_received(actor=people.sec_a, transfer=transfer, received_on=received_on)
    issued.refresh_from_db()
    assert issued.received_on == received_on
    assert issued.receipt_due_on == months_after(received_on, 1)
    assert issued.state == IntroductionLetter.State.ISSUED  # waiting for the receipt
    event = transfer.events.get(action=TransferEvent.Action.LETTER_RECEIVED)
    assert event.actor == people.sec_a and issued.number in event.note
    assert flagged(rules.receipt_overdue, transfer.member, TODAY)
    assert not flagged(rules.letter_expired, transfer.member, TODAY)
    # The receipt cannot come back before the letter was received; the same day it can.
    with pytest.raises(StepRefused):
        services.transfer_record_receipt(
            actor=people.sec_a, transfer=transfer, returned_on=received_on - DAY
        )
    services.transfer_record_receipt(actor=people.sec_a, transfer=transfer, returned_on=received_on)
    assert not flagged(rules.receipt_overdue, transfer.member, TODAY)


@pytest.mark.parametrize(
    ("days_after_issue", "why"),
    [(-1, "开具|issued"), (31, "过期|expired"), (None, "未来|future")],
)
def test_receiving_is_refused_on_impossible_days(people, days_after_issue, why):
    transfer = approved_transfer(people, issued_on=TODAY - timedelta(days=40), days=30)
    issued_on = transfer.letters.get().issued_on
    on = TODAY + DAY if days_after_issue is None else issued_on + timedelta(days=days_after_issue)
    with pytest.raises(StepRefused, match=why):
        services.letter_record_received(actor=people.sec_a, transfer=transfer, received_on=on)
    assert transfer.letters.get().received_on is None


def test_receiving_is_recorded_once_by_the_sending_branch_for_an_external_letter(people):
    transfer = approved_transfer(people)
    with pytest.raises(StepRefused):
        services.letter_record_received(actor=people.sec_b, transfer=transfer, received_on=TODAY)
    services.letter_record_received(actor=people.sec_a, transfer=transfer, received_on=TODAY)
    with pytest.raises(StepRefused):
        services.letter_record_received(actor=people.sec_a, transfer=transfer, received_on=TODAY)
    internal = approved_transfer(people, to_organisation=people.branch_a2)
    with pytest.raises(StepRefused):
        services.letter_record_received(actor=people.sec_a, transfer=internal, received_on=TODAY)


def test_a_received_letter_is_not_reissued(people):
    transfer = approved_transfer(people, issued_on=TODAY - timedelta(days=40), days=30)
    services.letter_record_received(
        actor=people.sec_a, transfer=transfer, received_on=TODAY - timedelta(days=20)
    )
    with pytest.raises(StepRefused):
        services.letter_reissue(
            actor=people.rev_a, transfer=transfer, issued_on=TODAY, valid_days=30
        )


def test_accepting_records_the_day_received(people, settings):
    settings.RECEIPT_DUE_MONTHS = 1
    transfer = approved_transfer(people, to_organisation=people.branch_a2)
    on = TODAY
    services.transfer_accept(actor=people.sec_a2, transfer=transfer, on=on)
    used = transfer.letters.get()
    assert (used.state, used.received_on, used.receipt_returned_on) == ("used", on, on)
    assert used.receipt_due_on == months_after(on, 1)
    assert not flagged(rules.receipt_overdue, transfer.member, on + timedelta(days=100))


def test_recording_receipt_in_the_pages(client, people):
    transfer = approved_transfer(people)
    detail = reverse("transfers:transfer_detail", args=[transfer.pk])
    url = reverse("transfers:transfer_letter_received", args=[transfer.pk])
    client.force_login(people.sec_a)
    assert url in client.get(detail).content.decode()
    response = client.post(url, {"on": TODAY.isoformat()})
    assert response.status_code == 302 and response.url == detail
    assert transfer.letters.get().received_on == TODAY
    page = client.get(detail).content.decode()
    assert url not in page and months_after(TODAY, 1).isoformat() in page
    client.force_login(people.sec_b)
    assert client.get(url).status_code == 404


# --- abroad (Reg. art. 24) ------------------------------------------------------------------

FIVE_YEARS = [
    (date(2020, 1, 10), date(2025, 1, 11)),
    (date(2020, 2, 29), date(2025, 3, 1)),  # ends 28 February 2025
    (date(2019, 2, 28), date(2024, 2, 29)),  # ends 28 February 2024, a leap year
    (date(2021, 12, 31), date(2027, 1, 1)),
]


def abroad(people, left_on: date, purpose: str) -> MobilityEpisode:
    return away(
        people,
        left_on,
        mobility_type="abroad",
        abroad_purpose=purpose,
        destination_province="",
        destination_city="",
        destination_country="日本",
        is_fixed_place=False,
    )


@pytest.mark.parametrize(("left_on", "first"), FIVE_YEARS)
def test_study_abroad_is_flagged_only_after_five_years(people, settings, left_on, first):
    settings.OVERSEAS_SUSPENSION_YEARS = 5
    assert not period_over(left_on, 60, today=first - DAY)  # the fifth anniversary itself
    assert period_over(left_on, 60, today=first)
    episode = abroad(people, left_on, MobilityEpisode.AbroadPurpose.STUDY)
    assert_starts_on(rules.abroad_five_years, episode.member, first)
    thresholds = Thresholds.from_settings()
    facts = episode_facts(episode)
    before = classify(episode=facts, member_active=True, today=first - DAY, thresholds=thresholds)
    after = classify(episode=facts, member_active=True, today=first, thresholds=thresholds)
    assert (before.suspension_due, after.suspension_due) == (False, True)


@pytest.mark.parametrize(
    "purpose", [MobilityEpisode.AbroadPurpose.WORK, MobilityEpisode.AbroadPurpose.OTHER, ""]
)
def test_work_other_or_unknown_abroad_is_never_flagged(people, purpose):
    episode = abroad(people, date(2005, 1, 10), purpose)
    assert not flagged(rules.abroad_five_years, episode.member, TODAY)
    facts = episode_facts(episode)
    assert not classify(episode=facts, member_active=True, today=TODAY).suspension_due


def test_settled_abroad_privately_is_flagged_and_a_suspended_member_no_more(people):
    episode = abroad(people, TODAY - timedelta(days=40), "settled_privately")
    assert flagged(rules.abroad_five_years, episode.member, TODAY)
    with translation.override("en"):
        result = classify(episode=episode_facts(episode), member_active=True, today=TODAY)
    assert result.suspension_due and "Article 24" in result.explanation
    episode.member.status = Member.Status.SUSPENDED
    episode.member.save()
    assert not flagged(rules.abroad_five_years, episode.member, TODAY)


def test_the_abroad_years_are_read_when_the_rule_runs(people, settings):
    episode = abroad(people, date(2022, 3, 31), MobilityEpisode.AbroadPurpose.STUDY)
    settings.OVERSEAS_SUSPENSION_YEARS = 3  # ends 31 March 2025
    assert_starts_on(rules.abroad_five_years, episode.member, date(2025, 4, 1))


def test_the_departure_form_asks_why_a_member_is_abroad(people):
    member = people.member(people.branch_a, name="出国党员")
    data = {
        "mobility_type": "abroad",
        "left_on": TODAY.isoformat(),
        "destination_country": "日本",
    }
    form = EpisodeForm(data, instance=MobilityEpisode(member=member))
    assert not form.is_valid() and "abroad_purpose" in form.errors
    form = EpisodeForm(data | {"abroad_purpose": "study"}, instance=MobilityEpisode(member=member))
    assert form.is_valid(), form.errors
    # A purpose chosen by mistake for a stay at home is dropped, not stored.
    home = {
        "mobility_type": "work",
        "left_on": TODAY.isoformat(),
        "destination_province": "浙江省",
        "abroad_purpose": "study",
    }
    form = EpisodeForm(home, instance=MobilityEpisode(member=member))
    assert form.is_valid() and form.cleaned_data["abroad_purpose"] == ""


def test_recording_why_a_member_is_abroad(client, people):
    episode = abroad(people, date(2019, 1, 10), "")
    url = reverse("transfers:episode_abroad_purpose", args=[episode.member_id])
    client.force_login(people.sec_b)
    assert client.get(url).status_code == 404
    client.force_login(people.sec_a)
    member_page = client.get(reverse("members:detail", args=[episode.member_id]))
    assert url in member_page.content.decode()
    assert client.post(url, {"purpose": "study"}).status_code == 302
    episode.refresh_from_db()
    assert episode.abroad_purpose == "study"
    assert flagged(rules.abroad_five_years, episode.member, TODAY)
    assert episode.history.count() == 2
    home = away(people, date(2025, 1, 1))
    with pytest.raises(StepRefused):
        services.episode_record_abroad_purpose(actor=people.sec_a, episode=home, purpose="study")


# --- graduates (Reg. art. 34) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("graduated_on", "first"),
    [
        (date(2024, 2, 29), date(2026, 3, 1)),  # ends 28 February 2026
        (date(2024, 6, 30), date(2026, 7, 1)),
        (date(2022, 2, 28), date(2024, 2, 29)),  # ends 28 February 2024, a leap year
    ],
)
def test_graduate_retention_ends_after_two_years(people, settings, graduated_on, first):
    settings.GRADUATE_RETENTION_YEARS = 2
    settings.GRADUATE_WARNING_DAYS = 0
    assert not period_over(graduated_on, 24, today=first - DAY)
    assert period_over(graduated_on, 24, today=first)
    episode = away(
        people, graduated_on - timedelta(days=400), mobility_type="study", graduated_on=graduated_on
    )
    assert_starts_on(rules.graduate_retention_ending, episode.member, first)
    # With the warning, it starts that many days earlier.
    settings.GRADUATE_WARNING_DAYS = 60
    assert_starts_on(rules.graduate_retention_ending, episode.member, first - timedelta(days=60))


# --- 暂时无法转移: recording a reason -------------------------------------------------------


def test_deferring_a_transfer_checks_the_reason_and_the_date(people):
    episode = away(people, date(2025, 1, 10))
    defer = services.episode_defer_transfer
    kwargs = {"actor": people.sec_a, "episode": episode}
    with pytest.raises(StepRefused):
        defer(**kwargs, reason="short_contract", until=TODAY)
    with pytest.raises(StepRefused):
        defer(**kwargs, reason="short_contract", until=months_after(TODAY, 12) + DAY)
    with pytest.raises(StepRefused):
        defer(**kwargs, reason="other", until=TODAY + DAY)
    with pytest.raises(StepRefused):
        defer(actor=people.sec_b, episode=episode, reason="short_contract", until=TODAY + DAY)
    defer(**kwargs, reason="other", note="接收单位正在组建党组织", until=months_after(TODAY, 12))
    episode.refresh_from_db()
    assert (episode.transfer_deferred_reason, episode.transfer_deferred_until) == (
        "other",
        months_after(TODAY, 12),
    )
    assert not flagged(rules.transfer_required_not_started, episode.member, TODAY)
    defer(**kwargs, reason="no_organisation", until=TODAY + DAY)
    assert [h.transfer_deferred_reason for h in episode.history.order_by("history_id")] == [
        "",
        "other",
        "no_organisation",
    ]
    on_abroad = abroad(people, date(2025, 1, 1), "work")
    with pytest.raises(StepRefused):
        defer(actor=people.sec_a, episode=on_abroad, reason="short_contract", until=TODAY + DAY)


def test_the_deferral_form_refuses_past_and_far_dates():
    for until, ok in [
        (TODAY, False),
        (TODAY + DAY, True),
        (months_after(TODAY, 12), True),
        (months_after(TODAY, 12) + DAY, False),
    ]:
        form = TransferDeferForm({"reason": "short_contract", "until": until.isoformat()})
        assert form.is_valid() == ok, until
    form = TransferDeferForm({"reason": "other", "until": (TODAY + DAY).isoformat()})
    assert not form.is_valid() and "note" in form.errors


def test_deferring_in_the_pages(client, people):
    episode = away(people, date(2025, 1, 10))
    url = reverse("transfers:episode_defer", args=[episode.member_id])
    member_url = reverse("members:detail", args=[episode.member_id])
    client.force_login(people.sec_b)
    assert client.get(url).status_code == 404
    client.force_login(people.sec_a)
    assert url in client.get(member_url).content.decode()
    until = TODAY + timedelta(days=90)
    response = client.post(
        url, {"reason": "no_organisation", "note": "", "until": until.isoformat()}
    )
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.transfer_deferred_until == until
    page = client.get(member_url).content.decode()
    assert until.isoformat() in page
    # A member with no current stretch away has nothing to defer.
    at_home = people.member(people.branch_a, name="在家党员")
    assert client.get(reverse("transfers:episode_defer", args=[at_home.pk])).status_code == 404


# --- certificate holders at the inflow side ---------------------------------------------------


def test_certificate_says_holders_do_not_vote_or_stand_at_the_inflow_side(client, people):
    assert HOLDER_RIGHTS == (
        "持证党员在流入地参加组织生活、交纳党费，不参加流入地党组织的选举，"
        "不享有表决权、选举权和被选举权。"
    )
    cert = certificate(people, TODAY)
    text = pdf_text(certificate_pdf(cert, verify_url="http://testserver/v/x/"))
    assert HOLDER_RIGHTS in text
    client.force_login(people.sec_a)
    page = client.get(reverse("transfers:certificate_detail", args=[cert.pk])).content.decode()
    with translation.override("zh-hans"):
        rights = escape(str(HOLDER_RIGHTS_TEXT))
    assert rights in page
    # The inflow side's list of members it hosts says it too.
    hosted = client.get(reverse("transfers:mobile_list"), {"side": "inflow"}).content.decode()
    assert rights in hosted
    assert rights not in client.get(reverse("transfers:mobile_list")).content.decode()


# --- the demo county ------------------------------------------------------------------------


def test_demo_shows_received_letters_abroad_purposes_and_a_deferral(db):
    call_command("seed_demo")
    abroad_now = MobilityEpisode.objects.filter(mobility_type="abroad")
    assert abroad_now.exists() and not abroad_now.filter(abroad_purpose="").exists()
    home = MobilityEpisode.objects.exclude(mobility_type="abroad")
    assert not home.exclude(abroad_purpose="").exists()
    received = IntroductionLetter.objects.filter(received_on__isnull=False)
    assert received.filter(receipt_returned_on__isnull=True, transfer__state="approved").exists()
    overdue = rules.receipt_overdue(TODAY)
    assert overdue.exists()
    assert rules.letter_expired(TODAY).exists()
    deferred = MobilityEpisode.objects.filter(transfer_deferred_until__gte=TODAY)
    assert deferred.exists()
    assert not rules.transfer_required_not_started(TODAY).filter(
        pk__in=deferred.values("member_id")
    )


# --- alerts follow the evidence the same day ----------------------------------------------------


def test_starting_the_transfer_closes_the_alert_at_once(
    people, django_capture_on_commit_callbacks, eager_celery
):
    from alerts import scanning
    from alerts.models import Alert

    episode = away(people, TODAY - timedelta(days=400))
    scanning.scan(today=TODAY)
    alert = Alert.objects.get(
        member=episode.member, kind="transfer_required_not_started", closed_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.transfer_draft(
            actor=people.sec_a, member=episode.member, reason="r", to_external=people.external
        )
    alert.refresh_from_db()
    assert alert.closed_at is not None and alert.close_reason == "condition_cleared"


def test_recording_a_deferral_closes_the_alert_at_once(
    people, django_capture_on_commit_callbacks, eager_celery
):
    from alerts import scanning
    from alerts.models import Alert

    episode = away(people, TODAY - timedelta(days=400))
    scanning.scan(today=TODAY)
    kind = "transfer_required_not_started"
    assert Alert.objects.filter(member=episode.member, kind=kind, closed_at=None).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.episode_defer_transfer(
            actor=people.sec_a,
            episode=episode,
            reason="short_contract",
            until=TODAY + timedelta(days=30),
        )
    assert not Alert.objects.filter(member=episode.member, kind=kind, closed_at=None).exists()
