"""Every form's limits hold on the server: lengths, impossible dates, amounts, order of dates.

Each case starts from data the form accepts, changes one thing, and expects that field to be
refused with the named error code.
"""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from activities import forms as activity_forms
from activities.models import ServiceRequest
from ledgers import forms as ledger_forms
from ledgers.models import FiveClearsItem, LedgerRecord
from members.forms import MemberForm
from members.models import ExternalOrganisation
from transfers import forms as transfer_forms
from transfers.models import MobilityEpisode

from .test_member_views import form_data

TODAY = timezone.localdate()
TOMORROW = TODAY + timedelta(days=1)
THREE_YEARS_AHEAD = TODAY + timedelta(days=3 * 366)
LONG = "长" * 2001


def iso(day: date) -> str:
    return day.isoformat()


@pytest.fixture
def world(county):
    county.sec = county.secretary(county.branch_a, "sec")
    county.outside = ExternalOrganisation.objects.create(name="外省某支部", region="广东省")
    county.person = county.member(county.branch_a, birth_date=date(1985, 3, 14))
    county.episode = MobilityEpisode.objects.create(
        member=county.person,
        mobility_type="work",
        left_on=TODAY - timedelta(days=100),
        destination_province="广东省",
    )
    return county


def builders(world) -> dict:
    """name -> (build(data), data the form accepts)."""
    branches = world.branch_a.__class__.objects.filter(pk=world.branch_a.pk)
    return {
        "member": (
            lambda data: MemberForm(data, user=world.sec),
            form_data(world),
        ),
        "incoming": (
            lambda data: transfer_forms.IncomingMemberForm(data, user=world.sec),
            {
                **form_data(world),
                "from_external": world.outside.pk,
                "letter_number": "X1",
                "arrived_on": iso(TODAY),
            },
        ),
        "item_left": (
            lambda data: ledger_forms.ItemForm(
                data,
                item=FiveClearsItem.LEFT,
                member=world.person,
                episode=world.episode,
                record=LedgerRecord(member=world.person),
            ),
            {"left_on": iso(TODAY - timedelta(days=10))},
        ),
        "item_conduct": (
            lambda data: ledger_forms.ItemForm(
                data,
                item=FiveClearsItem.CONDUCT,
                member=world.person,
                episode=world.episode,
                record=LedgerRecord(member=world.person),
            ),
            {"conduct_assessment": "good", "conduct_note": "好"},
        ),
        "contact": (
            ledger_forms.ContactForm,
            {"on": iso(TODAY), "channel": "phone", "reached": "on", "note": "通了"},
        ),
        "campaign": (
            ledger_forms.CampaignForm,
            {"name": "普查", "starts_on": iso(TODAY), "ends_on": iso(TODAY + timedelta(30))},
        ),
        "episode": (
            lambda data: transfer_forms.EpisodeForm(
                data, instance=MobilityEpisode(member=world.person)
            ),
            {
                "mobility_type": "study",
                "left_on": iso(TODAY - timedelta(days=10)),
                "destination_province": "广东省",
                "expected_return_on": iso(TODAY + timedelta(days=300)),
            },
        ),
        "episode_move": (
            lambda data: transfer_forms.EpisodeMoveForm(
                data, instance=MobilityEpisode(member=world.person)
            ),
            {
                "mobility_type": "work",
                "moved_on": iso(TODAY),
                "destination_province": "浙江省",
            },
        ),
        "date": (transfer_forms.DateForm, {"on": iso(TODAY)}),
        "certificate": (
            transfer_forms.CertificateIssueForm,
            {"issued_on": iso(TODAY), "reason": "务工", "destination": "广东省"},
        ),
        "departure": (
            transfer_forms.DepartureForm,
            {"departed_on": iso(TODAY), "participation": "参加了", "dues": "已交"},
        ),
        "review": (
            transfer_forms.ReviewForm,
            {"year": TODAY.year, "reviewed_on": iso(TODAY), "result": "passed"},
        ),
        "approve": (
            transfer_forms.ApproveForm,
            {"valid_days": 30, "dues_paid_until": f"{TODAY:%Y-%m}"},
        ),
        "activity": (
            activity_forms.ActivityForm,
            {"kind": "theme_day", "held_on": iso(TODAY), "title": "主题党日"},
        ),
        "attendance": (
            lambda data: activity_forms.AttendanceRowForm(data, member=world.person, hosted=False),
            {f"{world.person.pk}-status": "excused", f"{world.person.pk}-reason": "病假"},
        ),
        "participation": (
            activity_forms.ExternalParticipationForm,
            {"on": iso(TODAY), "organisation": "深圳某党支部", "kind": "theme_day"},
        ),
        "dues_amount": (
            activity_forms.DuesAmountForm,
            {"year": TODAY.year, "basis": "manual", "monthly_amount": "10", "reason": "困难"},
        ),
        "dues_payment": (
            lambda data: activity_forms.DuesPaymentForm(data, paid_to_choices=branches),
            {
                "from_month": iso(TODAY.replace(day=1)),
                "to_month": iso(TODAY),
                "amount": "12.00",
                "paid_on": iso(TODAY),
                "method": "wechat",
                "paid_to": world.branch_a.pk,
            },
        ),
        "evaluation": (
            lambda data: activity_forms.EvaluationForm(data, home=True),
            {
                "year": TODAY.year,
                "side": "home",
                "evaluator": "甲村党支部",
                "grade": "qualified",
            },
        ),
        "work": (
            lambda data: activity_forms.AssignedWorkForm(data, home=True),
            {
                "side": "home",
                "title": "宣讲",
                "assigned_on": iso(TODAY),
                "due_on": iso(TODAY + timedelta(days=30)),
            },
        ),
        "service": (
            lambda data: activity_forms.ServiceRequestForm(
                data, instance=ServiceRequest(member=world.person)
            ),
            {
                "kind": "legal",
                "description": "工资",
                "raised_on": iso(TODAY),
                "status": "open",
            },
        ),
        "honour": (
            activity_forms.HonourForm,
            {"kind": "model_post", "year": TODAY.year, "side": "home"},
        ),
    }


CASES = [
    # (form, field changed, new value, field with the error, code)
    ("member", "name", "名" * 51, "name", "max_length"),
    ("member", "ethnicity", "族" * 21, "ethnicity", "max_length"),
    ("member", "birth_date", iso(TOMORROW), "birth_date", "future"),
    ("member", "birth_date", "1899-12-31", "birth_date", "too_early"),
    ("member", "joined_on", "1920-07-01", "joined_on", "too_early"),
    ("member", "joined_on", iso(TOMORROW), "joined_on", "future"),
    ("member", "confirmed_on", iso(TOMORROW), "confirmed_on", "future"),
    ("incoming", "arrived_on", "1969-01-01", "arrived_on", "out_of_order"),
    ("incoming", "arrived_on", iso(TOMORROW), "arrived_on", "future"),
    ("incoming", "letter_number", "号" * 51, "letter_number", "max_length"),
    ("item_left", "left_on", "1980-01-01", "left_on", "before_birth"),
    ("item_left", "left_on", iso(TOMORROW), "left_on", "future"),
    ("item_conduct", "conduct_note", LONG, "conduct_note", "max_length"),
    ("contact", "on", iso(TOMORROW), "on", "future"),
    ("contact", "on", "1900-01-01", "on", "too_early"),
    ("contact", "note", "注" * 301, "note", "max_length"),
    ("campaign", "ends_on", iso(TODAY - timedelta(days=1)), "ends_on", None),
    ("campaign", "starts_on", iso(THREE_YEARS_AHEAD), "starts_on", "too_far_ahead"),
    ("campaign", "name", "名" * 101, "name", "max_length"),
    ("episode", "left_on", "1980-01-01", "left_on", "before_birth"),
    ("episode", "left_on", iso(TOMORROW), "left_on", "future"),
    ("episode", "expected_return_on", "2000-01-01", "expected_return_on", "out_of_order"),
    ("episode", "graduated_on", iso(TOMORROW), "graduated_on", "future"),
    ("episode", "address", "址" * 201, "address", "max_length"),
    ("episode_move", "moved_on", "1980-01-01", "moved_on", "before_birth"),
    ("episode_move", "moved_on", iso(TOMORROW), "moved_on", "future"),
    ("date", "on", iso(TOMORROW), "on", "future"),
    ("date", "on", "1900-01-01", "on", "too_early"),
    ("certificate", "issued_on", iso(TOMORROW), "issued_on", "future"),
    ("certificate", "reason", "因" * 201, "reason", "max_length"),
    ("departure", "participation", LONG, "participation", "max_length"),
    ("departure", "departed_on", iso(TOMORROW), "departed_on", "future"),
    ("review", "year", TODAY.year + 1, "year", "year"),
    ("review", "reviewed_on", iso(TOMORROW), "reviewed_on", "future"),
    ("approve", "dues_paid_until", f"{THREE_YEARS_AHEAD:%Y-%m}", "dues_paid_until", None),
    ("approve", "valid_days", 0, "valid_days", "min_value"),
    ("activity", "held_on", iso(THREE_YEARS_AHEAD), "held_on", "too_far_ahead"),
    ("activity", "held_on", "1900-01-01", "held_on", "too_early"),
    ("activity", "notes", LONG, "notes", "max_length"),
    ("activity", "title", "题" * 201, "title", "max_length"),
    ("attendance", "reason", "因" * 201, "reason", "max_length"),
    ("participation", "on", iso(TOMORROW), "on", "future"),
    ("dues_amount", "monthly_amount", "-1", "monthly_amount", "min_value"),
    ("dues_amount", "monthly_amount", "500000", "monthly_amount", "too_large"),
    ("dues_amount", "monthly_income", "-100", "monthly_income", "min_value"),
    ("dues_amount", "year", 1999, "year", "min_value"),
    ("dues_payment", "amount", "-12", "amount", "not_positive"),
    ("dues_payment", "amount", "0", "amount", "not_positive"),
    ("dues_payment", "amount", "1000000", "amount", "too_large"),
    ("dues_payment", "to_month", "2000-01-01", "to_month", "out_of_order"),
    ("dues_payment", "paid_on", iso(TOMORROW), "paid_on", "future"),
    ("dues_payment", "from_month", iso(THREE_YEARS_AHEAD), "from_month", "too_far_ahead"),
    ("evaluation", "year", TODAY.year + 1, "year", "year"),
    ("evaluation", "remarks", "评" * 301, "remarks", "max_length"),
    ("work", "due_on", iso(TODAY - timedelta(days=1)), "due_on", "out_of_order"),
    ("work", "assigned_on", iso(TOMORROW), "assigned_on", "future"),
    ("work", "due_on", iso(THREE_YEARS_AHEAD), "due_on", "too_far_ahead"),
    ("service", "raised_on", iso(TOMORROW), "raised_on", "future"),
    ("service", "raised_on", "1980-01-01", "raised_on", "before_birth"),
    ("service", "description", "述" * 301, "description", "max_length"),
    ("honour", "year", TODAY.year + 1, "year", "year"),
    ("honour", "year", 1900, "year", "year"),
]


@pytest.mark.parametrize(
    ("form", "field", "value", "error_field", "code"),
    CASES,
    ids=[f"{case[0]}-{case[1]}-{case[4] or 'refused'}" for case in CASES],
)
def test_a_limit_is_held_on_the_server(world, form, field, value, error_field, code):
    build, accepted = builders(world)[form]
    baseline = build(dict(accepted))
    assert baseline.is_valid(), baseline.errors  # the case changes only one thing

    data = dict(accepted)
    key = f"{world.person.pk}-{field}" if form == "attendance" else field
    data[key] = value
    refused = build(data)
    assert not refused.is_valid()
    if code is None:
        assert error_field in refused.errors, refused.errors
    else:
        assert refused.has_error(error_field, code), refused.errors.as_data()


def test_the_import_refuses_a_file_too_big_to_be_a_ledger(world, monkeypatch):
    monkeypatch.setattr(ledger_forms, "IMPORT_MAX_MEGABYTES", 1)
    branches = world.branch_a.__class__.objects.all()
    small = SimpleUploadedFile("台账.csv", b"a" * 1000)
    big = SimpleUploadedFile("台账.csv", b"a" * (1024 * 1024 + 1))
    assert ledger_forms.ImportUploadForm({}, {"file": small}, branches=branches).is_valid()
    form = ledger_forms.ImportUploadForm({}, {"file": big}, branches=branches)
    assert form.has_error("file", "too_large")


def test_a_limited_text_field_tells_the_browser_its_limit(world):
    build, _accepted = builders(world)["activity"]
    assert 'maxlength="2000"' in str(build(None)["notes"])


def test_the_messages_are_translatable():
    """The new messages are gettext source strings (the lead adds the Chinese)."""
    from django.utils.functional import Promise

    from members import validators

    for message in (validators.not_in_future, validators.not_far_ahead):
        with pytest.raises(Exception) as refused:
            message(date(2999, 1, 1))
        assert isinstance(refused.value.message, Promise)
