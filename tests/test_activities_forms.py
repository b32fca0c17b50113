"""The activities forms ask for months as months and say "请选择…" for an empty choice."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from activities import forms
from activities.models import DuesPayment
from members.models import Organisation

TODAY = timezone.localdate()


def payment_form(data=None, **kwargs):
    return forms.DuesPaymentForm(data, paid_to_choices=Organisation.objects.all(), **kwargs)


def test_the_dues_months_are_month_inputs(db):
    form = payment_form(initial={"from_month": date(2024, 5, 1), "to_month": date(2024, 7, 31)})
    for name, shown in (("from_month", "2024-05"), ("to_month", "2024-07")):
        html = str(form[name])
        assert 'type="month"' in html, html
        assert f'value="{shown}"' in html, html


@pytest.mark.parametrize(
    ("typed", "month"),
    [
        ("2024-05", date(2024, 5, 1)),
        ("2024-05-17", date(2024, 5, 1)),
        ("2024-12", date(2024, 12, 1)),
    ],
)
def test_a_month_is_taken_as_its_first_day(typed, month):
    assert forms.MonthField().clean(typed) == month


def test_a_month_field_refuses_what_is_no_month():
    for typed in ("2024-13", "五月", "2024/05/01x"):
        with pytest.raises(forms.forms.ValidationError):
            forms.MonthField().clean(typed)


def test_a_payment_posted_as_months(client, county):
    secretary = county.secretary(county.branch_a, "sec_a")
    member = county.member(county.branch_a, name="在家甲")
    month = TODAY.replace(day=1) - timedelta(days=1)  # a day of last month
    client.force_login(secretary)
    url = reverse("activities:dues_payment_new", args=[member.pk])
    page = client.get(url).content.decode()
    assert re.search(r'<input type="month" name="from_month" value="\d{4}-\d{2}"', page)
    response = client.post(
        url,
        {
            "from_month": f"{month:%Y-%m}",
            "to_month": f"{month:%Y-%m}",
            "amount": "0.20",
            "paid_on": TODAY.isoformat(),
            "method": "cash",
            "paid_to": county.branch_a.pk,
        },
    )
    assert response.status_code == 302
    payment = DuesPayment.objects.get()
    assert payment.from_month == payment.to_month == month.replace(day=1)


def build_forms(county):
    branches = Organisation.objects.all()
    return {
        "activity": forms.ActivityForm(),
        "participation": forms.ExternalParticipationForm(),
        "payment": forms.DuesPaymentForm(paid_to_choices=branches),
        "evaluation": forms.EvaluationForm(home=True),
        "work": forms.AssignedWorkForm(home=True),
        "service": forms.ServiceRequestForm(),
        "honour": forms.HonourForm(),
        "reason": forms.GoodReasonForm(),
        "dues_amount": forms.DuesAmountForm(),
    }


def test_no_choice_says_dashes(county):
    """An empty choice reads "请选择……" (the catalogue's "Please choose…"), never "---------"."""
    rendered = {name: form.as_div() for name, form in build_forms(county).items()}
    for name, html in rendered.items():
        assert "---------" not in html, name
    for name in ("activity", "participation", "payment", "evaluation", "work", "honour"):
        assert '<option value="" selected>请选择……</option>' in rendered[name], name


def test_phone_fields_ask_for_a_telephone_keyboard(county):
    """Any phone field of these forms brings up the telephone keypad (none asks today)."""
    for name, form in build_forms(county).items():
        for field_name, field in form.fields.items():
            if "phone" in field_name or "tel" in field_name.split("_"):
                assert field.widget.attrs.get("inputmode") == "tel", (name, field_name)
