"""Issue #17: forms that accept what people type and say things the way people expect."""

from django import forms
from django.urls import reverse


class Sample(forms.Form):
    choice = forms.ChoiceField(choices=[("", "---------"), ("a", "甲")])


def test_an_empty_choice_says_please_choose_not_dashes():
    html = str(Sample()["choice"])
    assert "请选择…" in html and "---------" not in html


def test_no_page_of_the_member_form_shows_dashes(client, county):
    client.force_login(county.secretary(county.branch_a, "sec"))
    page = client.get(reverse("members:create")).content.decode()
    assert "<option" in page and "---------" not in page
    assert "请选择…" in page


def test_phone_fields_bring_up_the_number_pad(client, county):
    client.force_login(county.secretary(county.branch_a, "sec"))
    page = client.get(reverse("members:create")).content.decode()
    assert 'inputmode="tel"' in page
